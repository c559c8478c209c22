import Clocks
import Foundation
import Logging
import Postgres
import Support
import Synchronization
import Testing

/// The connection against the stack's PostgreSQL: queries, failures and their classification.
@Suite struct PostgresConnectionTests {
    @Test func connectAndQuery() async throws {
        let connection = try await PostgresTestDatabase.connect()
        #expect(connection.isConnected)
        #expect(connection.serverVersion >= 150000)
        let batch = try await connection.query(
            "SELECT $1::int + 1 AS n, $2::text AS t, $3::text IS NULL AS isnull, current_setting('DateStyle') AS ds, current_setting('extra_float_digits') AS efd, current_setting('client_encoding') AS enc",
            ["41", "zürich \"q\"", nil])
        #expect(batch.count == 1)
        #expect(batch.columns.map(\.name) == ["n", "t", "isnull", "ds", "efd", "enc"])
        #expect(batch.columns.map(\.typeOID) == [PostgresTypeOID.int4, PostgresTypeOID.text, PostgresTypeOID.bool, PostgresTypeOID.text, PostgresTypeOID.text, PostgresTypeOID.text])
        #expect(batch.string(row: 0, column: 0) == "42")
        #expect(batch.string(row: 0, column: 1) == "zürich \"q\"")
        #expect(batch.string(row: 0, column: 2) == "t")
        #expect(batch.string(row: 0, column: 3) == "ISO, MDY")
        #expect(batch.string(row: 0, column: 4) == "1")
        #expect(batch.string(row: 0, column: 5) == "UTF8")
        await connection.close()
        #expect(!connection.isConnected)
        await #expect {
            _ = try await connection.query("SELECT 1")
        } throws: { ($0 as? PostgresError)?.code == .connectionClosed }
    }

    @Test func executeCreatesAndDropsATable() async throws {
        let connection = try await PostgresTestDatabase.connect()
        let table = PostgresTestDatabase.tableName("pg_exec")
        try await connection.execute("CREATE TABLE \(table) (id int PRIMARY KEY, v text)")
        try await connection.execute("INSERT INTO \(table) VALUES ($1, $2), ($3, $4)", ["1", "a", "2", nil])
        let rows = try await connection.query("SELECT id, v FROM \(table) ORDER BY id")
        #expect(rows.count == 2)
        #expect(rows.string(row: 1, column: 0) == "2")
        #expect(rows.isNull(row: 1, column: 1))
        try await connection.execute("DROP TABLE \(table)")
        await connection.close()
    }

    @Test func timeZoneParameterSetsTheSession() async throws {
        let connection = try await PostgresTestDatabase.connect(timeZone: "Asia/Kolkata")
        let batch = try await connection.query("SELECT current_setting('TimeZone'), '2020-08-28 03:52:47+00'::timestamptz")
        #expect(batch.string(row: 0, column: 0) == "Asia/Kolkata")
        #expect(batch.string(row: 0, column: 1) == "2020-08-28 09:22:47+05:30")
        await connection.close()
    }

    /// The reference tables the stack creates and seeds (11,153 rows each, keys 0..N-1).
    @Test func referenceTablesAreSeeded() async throws {
        let connection = try await PostgresTestDatabase.connect()
        let counts = try await connection.query(
            "SELECT (SELECT count(*) FROM pinterest_data), (SELECT count(*) FROM geolocation_data), (SELECT count(*) FROM user_data), (SELECT max(ind) FROM geolocation_data)")
        for column in 0..<3 {
            #expect(counts.string(row: 0, column: column) == "11153")
        }
        #expect(counts.string(row: 0, column: 3) == "11152")
        // The encoder handles their real column types.
        let geo = try await connection.query("SELECT * FROM geolocation_data ORDER BY ind LIMIT 100")
        let encoder = try PostgresRowEncoder(columns: geo.columns, keyColumn: "ind")
        #expect(encoder.textFallbackColumns.isEmpty)
        #expect(geo.columns.map(\.name) == ["ind", "timestamp", "latitude", "longitude", "country"])
        for row in 0..<geo.count {
            var buffer: [UInt8] = []
            encoder.encodeValue(geo, row: row, into: &buffer)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(buffer)) as? [String: Any])
            #expect(object["ind"] as? Int == row)
            #expect(encoder.keyValue(geo, row: row) == Int64(row))
            let timestamp = try #require(object["timestamp"] as? String)
            #expect(timestamp.count >= 19 && Array(timestamp)[10] == "T")
            #expect((object["latitude"] as? NSNumber).map { abs($0.doubleValue) <= 90 } == true)
        }
        await connection.close()
    }

    @Test func wrongPasswordFailsFastWithoutRetry() async throws {
        var parameters = try PostgresTestDatabase.parameters()
        parameters.password = "definitely-wrong-\(UInt32.random(in: 0...UInt32.max))"
        let (logger, store) = CapturingLogHandler.logger()
        let start = ContinuousClock.now
        do {
            _ = try await PostgresConnection.connect(
                parameters, retry: RetryPolicy(initialDelay: .seconds(1), maxDelay: .seconds(30), maxAttempts: 5), logger: logger)
            Issue.record("connected with a wrong password")
        } catch {
            #expect(error.code == .authenticationFailed)
            #expect(!error.isRetriable)
            #expect(error.message.contains("\"\(parameters.user)\""))
            #expect(error.message.contains("\(parameters.host):\(parameters.port)"))
            #expect(error.message.contains("PASSWORD"))
            #expect(!error.description.contains(parameters.password))
        }
        // No retry: not one retry warning. (The time bound is loose on purpose: the machine is shared and noisy;
        // five attempts with this backoff would take at least 15 s.)
        #expect(store.count(.warning) == 0)
        #expect(ContinuousClock.now - start < .seconds(12))
        #expect(!store.messages.joined().contains(parameters.password))
    }

    @Test func unknownDatabaseIsNotRetriable() async throws {
        var parameters = try PostgresTestDatabase.parameters()
        parameters.database = PostgresTestDatabase.tableName("nodb")
        await #expect {
            _ = try await PostgresConnection.connect(parameters, logger: PostgresTestDatabase.logger)
        } throws: { error in
            let error = error as? PostgresError
            return error?.code == .unknownDatabase && error?.isRetriable == false
                && error?.message.contains(parameters.database) == true
        }
    }

    @Test func unreachablePortIsRetriedThenGivesUp() async throws {
        var parameters = try PostgresTestDatabase.parameters()
        parameters.port = 1
        do {
            _ = try await PostgresConnection.connect(parameters, logger: PostgresTestDatabase.logger)
            Issue.record("connected to port 1")
        } catch {
            #expect(error.code == .connectionFailed)
            #expect(error.isRetriable)
            #expect(error.message.contains("127.0.0.1:1"))
        }
        // The retry waits run on the injected clock: 3 attempts = 2 waits, in [5, 10] s and [10, 20] s of a test
        // clock; the connect ends only once the test moved the clock past them.
        let (logger, store) = CapturingLogHandler.logger()
        let clock = TestClock()
        let finished = Atomic<Bool>(false)
        let connecting = Task { () -> PostgresError? in
            defer { finished.store(true, ordering: .relaxed) }
            do {
                _ = try await PostgresConnection.connect(
                    parameters, retry: RetryPolicy(initialDelay: .seconds(10), maxDelay: .seconds(20), maxAttempts: 3),
                    logger: logger, clock: PipelineClock(clock))
                return nil
            } catch let error as PostgresError {
                return error
            } catch {
                return nil
            }
        }
        func eventually(_ condition: () -> Bool) async throws -> Bool {
            for _ in 0..<3_000 where !condition() { try await Task.sleep(for: .milliseconds(10)) }
            return condition()
        }
        #expect(try await eventually { store.count(.warning) == 1 }, "first attempt")
        await clock.advance(by: .seconds(4))
        try await Task.sleep(for: .milliseconds(100))
        #expect(store.count(.warning) == 1, "retried before its wait (at least 5 s) was over")
        await clock.advance(by: .seconds(6))
        #expect(try await eventually { store.count(.warning) == 2 }, "second attempt")
        let ended = finished.load(ordering: .relaxed)
        #expect(!ended, "gave up before the second wait")
        await clock.advance(by: .seconds(20))
        let error = await connecting.value
        #expect(error?.code == .connectionFailed)
        #expect(store.count(.error) == 0)
        #expect(store.messages.contains { $0.contains("giving up connecting to PostgreSQL after 3 attempts") })
        #expect(store.messages.filter { $0.contains("retrying") }.allSatisfy { $0.contains("connection refused") })
    }

    @Test func missingTableIsANonRetriableServerError() async throws {
        let connection = try await PostgresTestDatabase.connect()
        let table = PostgresTestDatabase.tableName("missing")
        do {
            _ = try await connection.query("SELECT * FROM \(table)")
            Issue.record("queried a missing table")
        } catch {
            #expect(error.code == .serverError)
            #expect(error.sqlState == "42P01")
            #expect(!error.isRetriable)
            #expect(error.message.contains(table))
            #expect(error.query == "SELECT * FROM \(table)")
        }
        // The connection is still fine.
        #expect(try await connection.query("SELECT 7").string(row: 0, column: 0) == "7")
        await #expect {
            try await connection.execute("SELEC 1")
        } throws: { ($0 as? PostgresError)?.sqlState == "42601" && ($0 as? PostgresError)?.isRetriable == false }
        await connection.close()
    }

    @Test func serverSideTerminationIsRetriableAndReconnectWorks() async throws {
        let victim = try await PostgresTestDatabase.connect()
        let killer = try await PostgresTestDatabase.connect()
        let pid = try #require(try await victim.query("SELECT pg_backend_pid()").string(row: 0, column: 0))
        let terminated = try await killer.query("SELECT pg_terminate_backend($1::int, 5000)", [pid])
        #expect(terminated.string(row: 0, column: 0) == "t")
        do {
            _ = try await victim.query("SELECT 1")
            Issue.record("a terminated connection answered")
        } catch {
            #expect(error.isRetriable)
            #expect(error.code == .connectionLost)
        }
        #expect(!victim.isConnected)
        // And again: the connection stays broken, with a retriable error, without touching the network.
        await #expect {
            _ = try await victim.query("SELECT 1")
        } throws: { ($0 as? PostgresError)?.code == .connectionLost }
        await victim.close()
        let fresh = try await PostgresConnection.connect(
            try PostgresTestDatabase.parameters(), retry: RetryPolicy(initialDelay: .milliseconds(50), maxDelay: .seconds(30), maxAttempts: 5),
            logger: PostgresTestDatabase.logger)
        #expect(try await fresh.query("SELECT 1").string(row: 0, column: 0) == "1")
        await fresh.close()
        await killer.close()
    }

    @Test func cancellingALongQuery() async throws {
        let connection = try await PostgresTestDatabase.connect()
        let task = Task { try await connection.query("SELECT pg_sleep(30)") }
        try await Task.sleep(for: .milliseconds(300))
        let start = ContinuousClock.now
        task.cancel()
        await #expect {
            _ = try await task.value
        } throws: { ($0 as? PostgresError)?.code == .cancelled }
        #expect(ContinuousClock.now - start < .seconds(20))  // well under pg_sleep(30): the cancel worked
        #expect(try await connection.query("SELECT 2").string(row: 0, column: 0) == "2")
        await connection.close()
    }

    @Test func sslModes() async throws {
        let base = try PostgresTestDatabase.parameters()
        for mode in ["disable", "prefer", "allow"] {
            var parameters = base
            parameters.sslMode = mode
            let connection = try await PostgresConnection.connect(parameters, logger: PostgresTestDatabase.logger)
            #expect(try await connection.query("SELECT 1").count == 1)
            await connection.close()
        }
        var require = base
        require.sslMode = "require"
        do {
            _ = try await PostgresConnection.connect(require, logger: PostgresTestDatabase.logger)
            Issue.record("sslmode require connected to a server without SSL")
        } catch {
            #expect(error.code == .sslFailed)
            #expect(!error.isRetriable)
            #expect(error.message.contains("does not support SSL"))
        }
        var verify = base
        verify.sslMode = "verify-full"
        await #expect {
            _ = try await PostgresConnection.connect(verify, logger: PostgresTestDatabase.logger)
        } throws: { error in
            let error = error as? PostgresError
            return error?.code == .invalidConfiguration && error?.message.contains("sslRootCert") == true
        }
        verify.sslRootCert = "/nonexistent/\(PostgresTestDatabase.tableName("ca")).pem"
        await #expect {
            _ = try await PostgresConnection.connect(verify, logger: PostgresTestDatabase.logger)
        } throws: { error in
            let error = error as? PostgresError
            return error?.code == .invalidConfiguration && error?.message.contains(verify.sslRootCert!) == true
        }
        var bogus = base
        bogus.sslMode = "maybe"
        await #expect {
            _ = try await PostgresConnection.connect(bogus, logger: PostgresTestDatabase.logger)
        } throws: { ($0 as? PostgresError)?.code == .invalidConfiguration }
    }
}
