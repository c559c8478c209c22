import Foundation
import Logging
import Testing
import TestSupport

@testable import Pipeline

/// Rows whose key column is NULL are produced with a null key and reported once per read with their count, not
/// once per row. Checked end to end against PostgreSQL and the broker (kcat reads the keys), and as a value.
@Suite(.serialized) struct KeylessRowTests {
    /// Both ways rows reach librdkafka: in chunks (the default), and one by one with the `pinpipe.table` header.
    @Test(arguments: [false, true])
    func nullKeysAreProducedAndReportedOncePerReadWithTheirCount(tableHeader: Bool) async throws {
        let harness = try PipelineHarness("keyless")
        let suffix = "_\(harness.prefix)"
        let db = try await harness.database()
        try await harness.copySampleTables(db, suffix: suffix, keysBelow: 300, nullableKeys: true)
        try await db.execute("UPDATE pinterest_data\(suffix) SET \"index\" = NULL WHERE \"index\" % 3 = 0")
        let counts = try await db.query(
            "SELECT count(*), count(*) FILTER (WHERE \"index\" IS NULL) FROM pinterest_data\(suffix)")
        let total = try #require(counts.string(row: 0, column: 0).flatMap { Int($0) })
        let keyless = try #require(counts.string(row: 0, column: 1).flatMap { Int($0) })
        try #require(keyless > 2, "the sample has too few rows to make NULL keys: \(total)")
        try harness.writeConfig(roles: "produce", tableSuffix: suffix, fetchSize: 50, tableHeader: tableHeader)

        let run = try await harness.run(["run", "--config", harness.configPath, "--once"])
        #expect(run.status == 0, "\(run.output.suffix(3000))")
        let lines = run.output.split(separator: "\n")
        let first = lines.filter { $0.contains("Row without a key value") }
        let summary = lines.filter { $0.contains("rows without a key value were produced with a null key") }
        #expect(first.count == 1, "one warning for the first keyless row, not one per row: \(first.count)")
        #expect(first.first?.contains("index is NULL") == true, "\(first)")
        #expect(summary.count == 1 && summary.first?.contains("\(keyless) rows without") == true, "\(summary)")

        // kcat: every row is in Kafka, the keyless ones with a null (empty) key.
        let result = try TestStack.run("/usr/bin/kcat", [
            "-b", try TestStack.value("PINPIPE_KAFKA_BOOTSTRAP"), "-C", "-t", "\(harness.prefix).pin", "-o", "beginning",
            "-e", "-q", "-f", "[%k] %h\\n"])
        #expect(result.status == 0, "\(result.output)")
        let records = result.output.split(separator: "\n")
        #expect(records.count == total)
        #expect(records.filter { $0.hasPrefix("[] ") }.count == keyless)
        let header = "pinpipe.table=pinterest_data\(suffix)"
        #expect(records.filter { $0.hasSuffix(header) }.count == (tableHeader ? total : 0), "\(records.prefix(3))")
        try await harness.dropSampleTables(db, suffix: suffix)
        await db.close()
    }

    @Test func theCountReachesTheMetricAndStartsAfreshForTheNextRead() {
        let capture = LogCapture()
        let logger = capture.logger()
        let stats = PipelineStats()
        var rows = KeylessRows(keyColumn: "ind")
        for _ in 0..<1_000 { rows.note(logger: logger, metadata: [:]) }
        rows.finish(table: "geo", stats: stats, logger: logger, metadata: [:])
        #expect(capture.count(.warning) == 2)
        #expect(capture.entries.last?.message.hasPrefix("1000 rows without a key value") == true)
        #expect(stats.snapshot().sum(MetricName.rowsWithoutKey) == 1_000)
        rows.note(logger: logger, metadata: [:])
        rows.finish(table: "geo", stats: stats, logger: logger, metadata: [:])
        #expect(capture.count(.warning) == 3, "a new read warns again; one row needs no count line")
        #expect(stats.snapshot().sum(MetricName.rowsWithoutKey) == 1_001)
        rows.finish(table: "geo", stats: stats, logger: logger, metadata: [:])
        #expect(capture.count(.warning) == 3)
    }
}
