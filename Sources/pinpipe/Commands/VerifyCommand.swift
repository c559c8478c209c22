import ArgumentParser
import Foundation
import Logging
import Pipeline
import PipelineConfig

/// `pinpipe verify`: proves from the bucket, Kafka and the committed offsets that S3 holds every record once.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Audits every topic-partition in S3 against Kafka and the group's committed offsets.",
        discussion: """
            Checks each object's metadata (first and last offset, record count, where its coverage starts) against \
            its key and its neighbours, reports loss records (offsets the broker deleted before the sink read them), \
            and counts the records Kafka holds that S3 does not hold yet.

            Offsets below a partition's first stored object that Kafka no longer holds either (retention deleted \
            them before this group first read the partition, or an S3 lifecycle rule removed their objects) cannot \
            be checked: verify names them as unchecked, and they do not change the exit status.

            Exit status:
              0  clean and complete: no gap, overlap, loss or inconsistent object, and S3 holds every record
              1  broken: a gap, an overlap, a loss record, or an object whose metadata (or body, --deep) disagrees
              3  clean but not yet complete: records in Kafka are not in S3 yet (1 with --require-complete)
            """)

    @Option(name: .shortAndLong, help: "Configuration file.")
    var config: String = "/etc/pinpipe/pinpipe.yaml"

    @Flag(help: "Also read every object and count its lines against its record count.")
    var deep = false

    @Flag(help: "Treat records in Kafka that are not in S3 yet as a failure (exit 1 instead of 3).")
    var requireComplete = false

    static let exitIncomplete: Int32 = 3

    func run() async throws {
        let configuration = try Bootstrap.loadConfiguration(config)
        var logging = configuration.logging
        logging.level = .warning
        logging.output = .console
        Bootstrap.logging(logging)
        let logger = Logger(label: "pinpipe.verify")
        let (verifier, close) = try await SinkVerifier.make(
            configuration: configuration, environment: ProcessInfo.processInfo.environment, deep: deep, logger: logger)
        let report: SinkVerifier.Report
        do {
            report = try await verifier.run()
        } catch {
            await close()
            throw error
        }
        await close()
        print("partition".padding(toLength: 28, withPad: " ", startingAt: 0)
              + " objects   records   uncommitted  not-in-S3  findings")
        for (partition, audit) in report.partitions {
            let name = "\(partition.topic)[\(partition.partition)]".padding(toLength: 28, withPad: " ", startingAt: 0)
            var findings = audit.findings.isEmpty ? "clean" : audit.findings.map(\.description).joined(separator: "; ")
            if audit.uncheckedBelow > 0 {
                findings += "; unchecked: offsets 0...\(audit.uncheckedBelow - 1) are in neither S3 nor Kafka"
            }
            print("\(name) \(pad(audit.objects, 7)) \(pad(Int(audit.storedRecords), 9)) \(pad(audit.uncommittedObjects, 12)) "
                  + "\(pad(Int(audit.notYetStored), 10))  \(findings)")
        }
        let total = report.partitions.reduce(0) { $0 + Int($1.1.storedRecords) }
        var checked = deep ? "metadata and bodies checked" : "metadata checked (--deep reads the bodies too)"
        if report.uncheckedOffsets > 0 {
            checked += "; \(report.uncheckedOffsets) offsets below the first stored object of "
                + "\(report.partitionsWithUncheckedOffsets) partition(s) are in neither S3 nor Kafka (retention deleted "
                + "them before this group first read them, or their objects were removed) and were not checked"
        }
        if !report.isClean {
            let lost = report.lostRecords
            print("total records in S3: \(total); \(checked); BROKEN"
                  + (lost > 0 ? ": \(lost) records were lost before the sink read them" : ""))
            throw ExitCode(1)
        }
        if !report.isComplete {
            print("total records in S3: \(total); \(checked); CLEAN BUT NOT YET COMPLETE: "
                  + "\(report.notYetStored) records in Kafka are not in S3 yet")
            throw ExitCode(requireComplete ? 1 : Self.exitIncomplete)
        }
        print("total records in S3: \(total); \(checked); CLEAN AND COMPLETE")
    }

    private func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: " ", count: max(0, width - text.count)) + text
    }
}
