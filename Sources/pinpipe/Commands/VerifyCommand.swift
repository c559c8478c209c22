import ArgumentParser
import Foundation
import Logging
import Pipeline
import PipelineConfig

/// `pinpipe verify`: proves from the bucket and the committed offsets that S3 holds no gap and no overlap.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Checks every topic-partition in S3 for gaps and overlaps against the group's committed offsets.",
        discussion: "Exit status 0 only when every partition is clean.")

    @Option(name: .shortAndLong, help: "Configuration file.")
    var config: String = "/etc/pinpipe/pinpipe.yaml"

    func run() async throws {
        let configuration = try Bootstrap.loadConfiguration(config)
        var logging = configuration.logging
        logging.level = .warning
        logging.output = .console
        Bootstrap.logging(logging)
        let logger = Logger(label: "pinpipe.verify")
        let (verifier, close) = try await SinkVerifier.make(
            configuration: configuration, environment: ProcessInfo.processInfo.environment, logger: logger)
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
            let findings = audit.findings.isEmpty ? "clean" : audit.findings.map(\.description).joined(separator: "; ")
            print("\(name) \(pad(audit.objects, 7)) \(pad(Int(audit.storedRecords), 9)) \(pad(audit.uncommittedObjects, 12)) "
                  + "\(pad(Int(audit.notYetStored), 10))  \(findings)")
        }
        let total = report.partitions.reduce(0) { $0 + Int($1.1.storedRecords) }
        print("total records in S3: \(total); \(report.isClean ? "CLEAN" : "NOT CLEAN")")
        if !report.isClean { throw ExitCode(1) }
    }

    private func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: " ", count: max(0, width - text.count)) + text
    }
}
