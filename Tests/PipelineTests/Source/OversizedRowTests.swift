import Foundation
import Testing
import TestSupport

/// A row librdkafka refuses to enqueue (larger than `message.max.bytes`) in the middle of a snapshot: the source
/// re-sends from the acknowledged checkpoint and never reads past that row, so nothing is skipped; once the row
/// fits, a restart delivers every key. Checked with kcat, an independent reader.
@Suite(.serialized) struct OversizedRowTests {
    @Test func aRowKafkaRefusesIsRetriedNeverSkipped() async throws {
        let harness = try PipelineHarness("bigrow")
        let suffix = "_\(harness.prefix)"
        let db = try await harness.database()
        try await harness.copySampleTables(db, suffix: suffix, keysBelow: 300)
        let keys = try await db.query("SELECT \"index\" FROM pinterest_data\(suffix) ORDER BY 1")
        let allKeys = Set((0..<keys.count).compactMap { keys.string(row: $0, column: 0) })
        let big = try #require(try await db.query(
            "SELECT \"index\" FROM pinterest_data\(suffix) ORDER BY 1 OFFSET 150 LIMIT 1").string(row: 0, column: 0))
        try await db.execute("UPDATE pinterest_data\(suffix) SET description = repeat('x', 20000) WHERE \"index\" = \(big)")
        try harness.writeConfig(roles: "produce", tableSuffix: suffix, fetchSize: 100,
                                producerProperties: "{message.max.bytes: \"9000\"}")

        let first = try harness.start(["run", "--config", harness.configPath])
        try await first.waitForLog("re-sending from the checkpoint", count: 2)
        try await first.waitForLog("Snapshot of table read actor=source kafka.topic=\(harness.prefix).user")
        first.signal(SIGTERM)
        _ = try await first.wait(timeout: .seconds(60))
        #expect(first.output.contains("Message size too large") || first.output.contains("MSG_SIZE_TOO_LARGE"),
                "\(first.output.suffix(3000))")
        let pinDone = first.output.split(separator: "\n").contains {
            $0.contains("Snapshot of table read") && $0.contains("pg.table=pinterest_data\(suffix)")
        }
        #expect(!pinDone, "the pin snapshot went past the refused row:\n\(first.output.suffix(3000))")
        let before = try keyCounts(topic: "\(harness.prefix).pin")
        #expect(before[big] == nil, "the refused row reached Kafka")

        // The row fits again: a restart from the state directory delivers it and every key is there.
        try await db.execute("UPDATE pinterest_data\(suffix) SET description = 'now small' WHERE \"index\" = \(big)")
        let second = try await harness.run(["run", "--config", harness.configPath, "--once"])
        #expect(second.status == 0, "\(second.output.suffix(3000))")
        let after = try keyCounts(topic: "\(harness.prefix).pin")
        #expect(Set(after.keys) == allKeys, "missing: \(allKeys.subtracting(after.keys).sorted().prefix(10))")
        try await harness.dropSampleTables(db, suffix: suffix)
        await db.close()
    }

    /// Every key of a topic as kcat reads it, with its count.
    func keyCounts(topic: String) throws -> [String: Int] {
        let result = try TestStack.run("/usr/bin/kcat", [
            "-b", try TestStack.value("PINPIPE_KAFKA_BOOTSTRAP"), "-C", "-t", topic, "-o", "beginning", "-e", "-q",
            "-f", "%k\\n"])
        guard result.status == 0 else { throw TestStackError(message: "kcat failed: \(result.output)") }
        var counts: [String: Int] = [:]
        for line in result.output.split(separator: "\n") { counts[String(line), default: 0] += 1 }
        return counts
    }
}
