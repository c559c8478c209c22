import Foundation
import Postgres
import Testing

/// Cursor streaming: bounded memory, completeness, cancellation and errors mid-stream.
@Suite struct PostgresStreamTests {
    /// No cursor open and no transaction left behind.
    static func expectClean(_ connection: PostgresConnection) async throws {
        let state = try await connection.query(
            "SELECT (SELECT count(*) FROM pg_cursors), current_setting('transaction_read_only'), now() = statement_timestamp()")
        #expect(state.string(row: 0, column: 0) == "0")
        #expect(state.string(row: 0, column: 1) == "off")
        #expect(state.string(row: 0, column: 2) == "t")  // true only outside a transaction block
    }

    @Test func streams200000RowsWithAtMostTwoBatchesInMemory() async throws {
        let connection = try await PostgresTestDatabase.connect()
        let total = 200_000
        let stream = connection.stream(
            "SELECT g, md5(g::text) AS h FROM generate_series(1, $1::int) g", [String(total)], fetchSize: 5_000)
        var rows = 0
        var sum = 0
        var expectedNext = 1
        var batches = 0
        var peakSeen = 0
        for try await batch in stream {
            batches += 1
            #expect(batch.count == 5_000)
            peakSeen = max(peakSeen, stream.statistics.liveBatches)
            for row in 0..<batch.count {
                let value = Int(batch.string(row: row, column: 0) ?? "") ?? -1
                if value != expectedNext { Issue.record("row \(value) out of order, expected \(expectedNext)") }
                expectedNext = value + 1
                sum += value
            }
            rows += batch.count
            // Give the FETCH running ahead time to land while this batch is still held, so the peak is reached.
            if batches <= 3 { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(rows == total)
        #expect(sum == total * (total + 1) / 2)
        #expect(batches == 40)
        let statistics = stream.statistics
        #expect(statistics.batchesFetched == 40)
        #expect(statistics.rowsFetched == total)
        #expect(statistics.peakLiveBatches == 2)  // the caller's batch and the one fetched ahead
        #expect(peakSeen <= 2)
        #expect(statistics.liveBatches == 0)
        try await Self.expectClean(connection)
        await connection.close()
    }

    @Test func partialLastBatchAndEmptyResults() async throws {
        let connection = try await PostgresTestDatabase.connect()
        var counts: [Int] = []
        for try await batch in connection.stream("SELECT g FROM generate_series(1, 25) g", fetchSize: 10) {
            counts.append(batch.count)
        }
        #expect(counts == [10, 10, 5])
        counts = []
        for try await batch in connection.stream("SELECT g FROM generate_series(1, 20) g", fetchSize: 10) {
            counts.append(batch.count)
        }
        #expect(counts == [10, 10])
        var empty = 0
        for try await _ in connection.stream("SELECT 1 WHERE false") { empty += 1 }
        #expect(empty == 0)
        try await Self.expectClean(connection)
        await connection.close()
    }

    @Test func breakingOutClosesTheCursor() async throws {
        let connection = try await PostgresTestDatabase.connect()
        var seen = 0
        for try await batch in connection.stream("SELECT g FROM generate_series(1, 100000) g", fetchSize: 1_000) {
            seen += batch.count
            if seen >= 3_000 { break }
        }
        #expect(seen == 3_000)
        try await Self.expectClean(connection)
        // A new stream on the same connection starts from the beginning.
        var first: String?
        for try await batch in connection.stream("SELECT g FROM generate_series(1, 10) g", fetchSize: 4) {
            first = first ?? batch.string(row: 0, column: 0)
        }
        #expect(first == "1")
        await connection.close()
    }

    @Test func cancellingTheTaskMidStream() async throws {
        let connection = try await PostgresTestDatabase.connect()
        let (firstBatch, signal) = AsyncStream.makeStream(of: Int.self)
        let task = Task { () throws(PostgresError) -> Int in
            var rows = 0
            for try await batch in connection.stream("SELECT g FROM generate_series(1, 1000000) g", fetchSize: 2_000) {
                rows += batch.count
                signal.yield(rows)
                try? await Task.sleep(for: .milliseconds(20))
            }
            return rows
        }
        for await _ in firstBatch { break }
        task.cancel()
        let result = await task.result
        switch result {
        case .success(let rows): Issue.record("the stream ran to the end (\(rows) rows) despite cancellation")
        case .failure(let error): #expect((error as? PostgresError)?.code == .cancelled)
        }
        try await Self.expectClean(connection)
        #expect(try await connection.query("SELECT 3").string(row: 0, column: 0) == "3")
        await connection.close()
    }

    @Test func errorMidStreamThrowsAndLeavesTheConnectionUsable() async throws {
        let connection = try await PostgresTestDatabase.connect()
        var rows = 0
        do {
            for try await batch in connection.stream("SELECT 1 / (g - 25000) FROM generate_series(1, 50000) g", fetchSize: 5_000) {
                rows += batch.count
            }
            Issue.record("division by zero was not reported")
        } catch {
            #expect(error.sqlState == "22012")
            #expect(!error.isRetriable)
        }
        #expect(rows == 20_000)
        try await Self.expectClean(connection)
        await #expect {
            for try await _ in connection.stream("SELECT * FROM \(PostgresTestDatabase.tableName("nosuch"))") {}
        } throws: { ($0 as? PostgresError)?.sqlState == "42P01" }
        try await Self.expectClean(connection)
        await connection.close()
    }

    @Test func streamInsideACallersTransactionKeepsIt() async throws {
        let connection = try await PostgresTestDatabase.connect()
        let table = PostgresTestDatabase.tableName("pg_tx")
        try await connection.execute("BEGIN")
        try await connection.execute("CREATE TEMP TABLE \(table) AS SELECT g FROM generate_series(1, 30) g")
        var rows = 0
        for try await batch in connection.stream("SELECT g FROM \(table)", fetchSize: 7) { rows += batch.count }
        #expect(rows == 30)
        // Still inside the caller's transaction: the temp table is visible and commit works.
        #expect(try await connection.query("SELECT now() = statement_timestamp()").string(row: 0, column: 0) == "f")
        try await connection.execute("COMMIT")
        #expect(try await connection.query("SELECT count(*) FROM \(table)").string(row: 0, column: 0) == "30")
        try await Self.expectClean(connection)
        await connection.close()
    }
}
