import Foundation
import Logging
import Testing
import TestSupport
@testable import Systemd

@Suite struct JournalLogHandlerTests {
    @Test func fieldsOfARecord() {
        let record = LogRecord(
            level: .warning, message: "line1\nline2", label: "pinpipe.sink",
            metadata: ["kafka.topic": "p.pin", "kafka.partition": .stringConvertible(3),
                       "nested": ["inner.key": "v"], "list": ["a", "b"]],
            source: "Pipeline", file: "Pipeline/Sink.swift", function: "flush()", line: 42, error: "boom")
        let fields = JournalLogHandler.fields(for: record, identifier: "pinpipe")
        let byName = Dictionary(fields.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        #expect(byName["MESSAGE"] == "line1\nline2")
        #expect(byName["PRIORITY"] == "4")
        #expect(byName["SYSLOG_IDENTIFIER"] == "pinpipe")
        #expect(byName["LOGGER"] == "pinpipe.sink")
        #expect(byName["LOGGER_SOURCE"] == "Pipeline")
        #expect(byName["CODE_FILE"] == "Pipeline/Sink.swift")
        #expect(byName["CODE_LINE"] == "42")
        #expect(byName["CODE_FUNC"] == "flush()")
        #expect(byName["ERROR"] == "boom")
        #expect(byName["KAFKA_TOPIC"] == "p.pin")
        #expect(byName["KAFKA_PARTITION"] == "3")
        #expect(byName["NESTED_INNER_KEY"] == "v")
        #expect(byName["LIST"] == "[a, b]")
        #expect(fields.first?.name == "MESSAGE")
    }

    /// Sends through the real journald of the local stack and reads the entry back with `journalctl -o json`.
    @Test func realJournaldStoresStructuredEntry() async throws {
        let socket = try TestStack.value("PINPIPE_JOURNAL_SOCKET")
        // libsystemd always writes to this path; the stack's journald must be listening there.
        try #require(socket == "/run/systemd/journal/socket", "journald socket at \(socket)")

        let identifier = TestStack.uniqueName("pinpipe-systemd-test")
        let runID = UUID().uuidString
        let long = String(repeating: "x", count: 5000)
        let logger = Logger(label: "pinpipe.test") {
            JournalLogHandler(label: $0, identifier: identifier, level: DynamicLogLevel(.debug), rateLimiter: nil)
        }
        logger.error("stored batch\nsecond line", metadata: [
            "kafka.topic": "t.pin", "run-id": .string(runID), "pg.password": "hunter2", "big": .string(long),
        ])
        logger.debug("debug entry", metadata: ["run-id": .string(runID)])

        var entries: [[String: Any]] = []
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            let result = try TestStack.run("/usr/bin/journalctl",
                                           ["-o", "json", "--all", "--no-pager", "SYSLOG_IDENTIFIER=\(identifier)"])
            entries = result.output.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
            if entries.count >= 2 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        try #require(entries.count == 2, "journalctl returned \(entries.count) entries for \(identifier)")
        let error = try #require(entries.first { ($0["PRIORITY"] as? String) == "3" })
        #expect(error["MESSAGE"] as? String == "stored batch\nsecond line"
            || (error["MESSAGE"] as? [Int]).map { String(decoding: $0.map(UInt8.init), as: UTF8.self) }
                == "stored batch\nsecond line")
        #expect(error["KAFKA_TOPIC"] as? String == "t.pin")
        #expect(error["RUN_ID"] as? String == runID)
        #expect(error["PG_PASSWORD"] as? String == "***")
        // A 5000-byte value arrives whole (journalctl shows fields over 4096 bytes only with --all).
        let big = error["BIG"] as? String
        #expect(big == long, "BIG has \(big?.count ?? -1) characters")
        #expect(error["LOGGER"] as? String == "pinpipe.test")
        #expect((error["CODE_FILE"] as? String)?.hasSuffix("JournalLogHandlerTests.swift") == true)
        #expect(error["CODE_FUNC"] as? String == "realJournaldStoresStructuredEntry()")
        #expect(Int(error["CODE_LINE"] as? String ?? "") ?? 0 > 0)
        #expect(error["_PID"] as? String == String(getpid()))
        let debug = try #require(entries.first { ($0["PRIORITY"] as? String) == "7" })
        #expect(debug["MESSAGE"] as? String == "debug entry")
        #expect(debug["RUN_ID"] as? String == runID)
    }
}
