import Foundation
import Kafka
import Logging
import Postgres
import Testing
import TestSupport

/// The whole pipeline against the local stack: PostgreSQL → pinpipe → Kafka mock cluster → pinpipe → SeaweedFS.
@Suite(.serialized) struct EndToEndTests {
    static let tables = [("pin", "pinterest_data", "index"), ("geo", "geolocation_data", "ind"), ("user", "user_data", "ind")]

    /// PostgreSQL's own JSON rendering of every row, keyed by the row key: an independent oracle for the values.
    func expectedRows(_ harness: PipelineHarness, suffix: String = "") async throws -> [String: [Int: NSDictionary]] {
        let db = try await harness.database()
        defer { Task { await db.close() } }
        var result: [String: [Int: NSDictionary]] = [:]
        for (name, table, key) in Self.tables {
            let batch = try await db.query("SELECT \"\(key)\", row_to_json(t)::text FROM \(table)\(suffix) t")
            var rows: [Int: NSDictionary] = [:]
            for row in 0..<batch.count {
                let json = try JSONSerialization.jsonObject(with: Data(batch.string(row: row, column: 1)!.utf8))
                rows[Int(batch.string(row: row, column: 0)!)!] = json as? NSDictionary
            }
            result[name] = rows
        }
        return result
    }

    /// Parses every stored record and checks it against the expected rows: each key exactly once, equal values.
    func checkExactlyOnce(_ harness: PipelineHarness, expected: [String: [Int: NSDictionary]]) async throws {
        let stored = try await harness.storedRecords()
        for (name, _, key) in Self.tables {
            let topic = "\(harness.prefix).\(name)"
            var seen: [Int: Int] = [:]
            var mismatches = 0
            for (_, line) in stored[topic] ?? [] {
                let object = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? NSDictionary)
                let rowKey = try #require((object[key] as? NSNumber)?.intValue)
                seen[rowKey, default: 0] += 1
                if expected[name]?[rowKey] != object { mismatches += 1 }
            }
            #expect(seen.count == expected[name]?.count, "\(topic): distinct keys in S3")
            #expect(seen.values.allSatisfy { $0 == 1 }, "\(topic): a key stored more than once")
            #expect(mismatches == 0, "\(topic): \(mismatches) records differ from PostgreSQL's row_to_json")
        }
    }

    @Test func snapshotLandsInS3ExactlyOnceAndVerifyIsClean() async throws {
        let harness = try PipelineHarness("e2e")
        try harness.writeConfig()
        let expected = try await expectedRows(harness)
        #expect(expected["pin"]?.count == 11_153)
        let run = try await harness.run(["run", "--config", harness.configPath, "--once"])
        #expect(run.status == 0, "\(run.output.suffix(4000))")
        // The final STATUS shows no stale lag: --once ends only when everything is in S3.
        let final = run.output.split(separator: "\n").last { $0.contains("drained and stopped") }.map(String.init) ?? ""
        #expect(final.contains("lag 0"), "\(final)")
        try await checkExactlyOnce(harness, expected: expected)
        let verify = try await harness.run(["verify", "--config", harness.configPath], timeout: .seconds(60))
        #expect(verify.status == 0, "\(verify.output)")
        #expect(verify.output.contains("CLEAN AND COMPLETE"))
        // The Confluent layout that existing Spark jobs read.
        let stored = try await harness.storedRecords()
        let keys = Set(stored["\(harness.prefix).pin"]!.map(\.key))
        #expect(keys.contains("topics/\(harness.prefix).pin/partition=0/\(harness.prefix).pin+0+0000000000.json"))
    }

    @Test func sinkKilledBetweenUploadAndCommitResumesWithoutGapOrOverlap() async throws {
        let harness = try PipelineHarness("crash")
        try harness.writeConfig(roles: "produce", maxRecords: 1000)
        let produce = try await harness.run(["run", "--config", harness.configPath, "--once"])
        #expect(produce.status == 0, "\(produce.output.suffix(3000))")
        try harness.writeConfig(roles: "sink", maxRecords: 1000)
        // The test hook exits abruptly right after the 4th object is stored and before its offsets are committed.
        let crashed = try await harness.run(["run", "--config", harness.configPath, "--once"],
                                            environment: ["PINPIPE_TEST_CRASH_AFTER_UPLOAD": "4"])
        #expect(crashed.status == 137, "\(crashed.output.suffix(3000))")
        let resumed = try await harness.run(["run", "--config", harness.configPath, "--once"])
        #expect(resumed.status == 0, "\(resumed.output.suffix(3000))")
        let verify = try await harness.run(["verify", "--config", harness.configPath], timeout: .seconds(60))
        #expect(verify.status == 0, "\(verify.output)")
        try await checkExactlyOnce(harness, expected: try await expectedRows(harness))
    }

    @Test func followModePicksUpInsertedRows() async throws {
        let harness = try PipelineHarness("follow")
        let suffix = "_\(harness.prefix)"
        let db = try await harness.database()
        try await harness.copySampleTables(db, suffix: suffix, keysBelow: 100)
        try harness.writeConfig(mode: "follow", maxAge: "1s", tableSuffix: suffix)
        let running = try harness.start(["run", "--config", harness.configPath])
        try await Task.sleep(for: .seconds(8))
        for (_, table, key) in Self.tables {
            try await db.execute("INSERT INTO \(table)\(suffix) SELECT * FROM \(table) WHERE \"\(key)\" BETWEEN 100 AND 149")
        }
        // Wait until the new rows are in S3, then stop gracefully.
        let deadline = ContinuousClock.now + .seconds(60)
        var count = 0
        while ContinuousClock.now < deadline {
            count = try await harness.storedRecords().values.reduce(0) { $0 + $1.count }
            if count >= 450 { break }
            try await Task.sleep(for: .seconds(1))
        }
        running.signal(SIGTERM)
        let status = try await running.wait(timeout: .seconds(60))
        #expect(status == 0, "\(running.output.suffix(3000))")
        #expect(count == 450)
        try await checkExactlyOnce(harness, expected: try await expectedRows(harness, suffix: suffix))
        try await harness.dropSampleTables(db, suffix: suffix)
        await db.close()
    }

    @Test func aColumnOfAnUnsupportedTypeIsEncodedAsTextAndReportedOnce() async throws {
        let harness = try PipelineHarness("oddtype")
        let suffix = "_\(harness.prefix)"
        let db = try await harness.database()
        try await harness.copySampleTables(db, suffix: suffix, keysBelow: 300)
        try await db.execute("ALTER TABLE pinterest_data\(suffix) ADD COLUMN wait_time interval DEFAULT '1 day 02:03:04'")
        try harness.writeConfig(maxRecords: 1000, maxAge: "1s", tableSuffix: suffix, fetchSize: 50)
        let run = try await harness.run(["run", "--config", harness.configPath, "--once"])
        #expect(run.status == 0, "\(run.output.suffix(3000))")
        let reports = run.output.components(separatedBy: "Columns of unsupported types are encoded as their text").count - 1
        #expect(reports == 1, "reported \(reports) times:\n\(run.output.suffix(3000))")
        #expect(run.output.contains("wait_time"))
        let stored = try await harness.storedRecords()["\(harness.prefix).pin"] ?? []
        #expect(stored.count == 300)
        for (_, line) in stored {
            let object = try JSONSerialization.jsonObject(with: Data(line)) as? NSDictionary
            #expect(object?["wait_time"] as? String == "1 day 02:03:04")
        }
        try await harness.dropSampleTables(db, suffix: suffix)
        await db.close()
    }

    @Test func emulateModeReplaysTheOriginalEmulatorsKeys() async throws {
        let harness = try PipelineHarness("emulate")
        try harness.writeConfig(mode: "emulate", maxAge: "1s")
        var text = try String(contentsOfFile: harness.configPath, encoding: .utf8)
        text = text.replacingOccurrences(of: "  poll_interval: 1s\n",
                                         with: "  poll_interval: 1s\n  emulate: {seed: 100, rate: 20, limit: 6}\n")
        try text.write(toFile: harness.configPath, atomically: true, encoding: .utf8)
        let run = try await harness.run(["run", "--config", harness.configPath, "--once"])
        #expect(run.status == 0, "\(run.output.suffix(3000))")
        let stored = try await harness.storedRecords()
        for (name, _, key) in Self.tables {
            let keys = try (stored["\(harness.prefix).\(name)"] ?? []).map { entry -> Int in
                let object = try JSONSerialization.jsonObject(with: Data(entry.line)) as? NSDictionary
                return (object?[key] as? NSNumber)?.intValue ?? -1
            }
            // CPython: random.seed(100); randint(0, 11000) after each randrange(0, 2).
            #expect(keys.sorted() == [7528, 2863, 5730, 8304, 8731, 1313].sorted(), "\(name): \(keys)")
        }
    }

    @Test func unreachableDatabaseFailsTheStartWithoutARetryStorm() async throws {
        let harness = try PipelineHarness("noreach")
        let creds = harness.directory.appendingPathComponent("unreachable_creds.yaml").path
        try String(contentsOfFile: harness.env["PINPIPE_DB_CREDS"]!, encoding: .utf8)
            .replacingOccurrences(of: "PORT: \(harness.env["PINPIPE_PG_PORT"]!)", with: "PORT: 1")
            .write(toFile: creds, atomically: true, encoding: .utf8)
        chmod(creds, 0o600)
        try harness.writeConfig(roles: "produce", credentials: creds)
        let run = try await harness.run(["run", "--config", harness.configPath, "--once"], timeout: .seconds(60))
        #expect(run.status != 0)
        #expect(run.output.contains("127.0.0.1:1"), "\(run.output.suffix(2000))")
        // startup_attempts is 3 in the stack configuration: at most 3 connection attempts, then a clear stop.
        let attempts = run.output.components(separatedBy: "retrying").count - 1
        #expect(attempts <= 2, "retry storm: \(attempts) retries\n\(run.output.suffix(2000))")
    }

    @Test func malformedRecordsGoToTheDeadLetterPrefixAndTheRunContinues() async throws {
        let harness = try PipelineHarness("deadletter")
        // Records written by someone else into the pipeline's topic: two are not JSON.
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: harness.kafkaBootstrap),
                                         logger: Logger(label: "test.producer"))
        let topic = "\(harness.prefix).pin"
        try await producer.ensureTopics(harness.topics, create: true, partitions: 3, replicationFactor: 1,
                                        timeout: .seconds(20))
        let values = ["{\"index\":1}", "not json at all", "{\"index\":2}", "{\"index\": 3", "{\"index\":4}"]
        var partitions: Set<Int32> = []
        for value in values {
            let report = try await producer.send(topic: topic, key: Array("k".utf8), value: Array(value.utf8))
            partitions.insert(report.partition)
        }
        await producer.shutdown(timeout: .seconds(5))
        try harness.writeConfig(roles: "sink", maxRecords: 1000, maxAge: "1s")
        let run = try await harness.run(["run", "--config", harness.configPath, "--once"])
        #expect(run.status == 0, "\(run.output.suffix(3000))")
        #expect(run.output.contains("dead-letter 2"), "\(run.output.suffix(2000))")
        let stored = try await harness.storedRecords()[topic] ?? []
        #expect(stored.map { String(decoding: $0.line, as: UTF8.self) }.sorted() == ["{\"index\":1}", "{\"index\":2}", "{\"index\":4}"])
        let client = harness.s3Client()
        let dead = try await client.listAllObjects(bucket: harness.env["PINPIPE_S3_BUCKET"]!, prefix: "dead-letter/\(topic)/")
        // One partition, one batch: one dead-letter object holding both records, a reason on each line.
        #expect(dead.count == 1)
        var deadValues: [String] = []
        for object in dead {
            let got = try await client.getObject(bucket: harness.env["PINPIPE_S3_BUCKET"]!, key: object.key)
            #expect(got.metadata["record-count"] == "2")
            for line in got.body.split(separator: UInt8(ascii: "\n")) {
                let entry = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
                #expect((entry["reason"] as? String)?.isEmpty == false)
                deadValues.append(entry["value"] as? String ?? "")
            }
        }
        await client.shutdown()
        #expect(deadValues.sorted() == ["not json at all", "{\"index\": 3"])
        let verify = try await harness.run(["verify", "--config", harness.configPath], timeout: .seconds(60))
        #expect(verify.status == 0, "\(verify.output)")
    }

    @Test func wrongPasswordFailsFastWithAClearError() async throws {
        let harness = try PipelineHarness("badpw")
        let env = harness.env
        let creds = harness.directory.appendingPathComponent("bad_creds.yaml").path
        try """
            HOST: \(env["PINPIPE_PG_HOST"]!)
            PORT: \(env["PINPIPE_PG_PORT"]!)
            USER: \(env["PINPIPE_PG_USER"]!)
            PASSWORD: definitely-wrong-secret
            DATABASE: \(env["PINPIPE_PG_DATABASE"]!)
            """.write(toFile: creds, atomically: true, encoding: .utf8)
        chmod(creds, 0o600)
        try harness.writeConfig(roles: "produce", credentials: creds)
        let started = ContinuousClock.now
        let run = try await harness.run(["run", "--config", harness.configPath, "--once"], timeout: .seconds(60))
        #expect(run.status != 0)
        #expect(run.output.contains("password authentication failed"), "\(run.output.suffix(2000))")
        #expect(!run.output.contains("definitely-wrong-secret"), "the password leaked into the logs")
        #expect(ContinuousClock.now - started < .seconds(20))
    }

    @Test func missingTableFailsTheStartNamingTheTable() async throws {
        let harness = try PipelineHarness("notable")
        try harness.writeConfig(roles: "produce", tableSuffix: "_does_not_exist")
        let run = try await harness.run(["run", "--config", harness.configPath, "--once"], timeout: .seconds(60))
        #expect(run.status != 0)
        #expect(run.output.contains("pinterest_data_does_not_exist"), "\(run.output.suffix(2000))")
    }

    @Test func wrongS3SecretIsRejectedNamingTheBucket() async throws {
        let harness = try PipelineHarness("s3deny")
        try harness.writeConfig(roles: "sink")
        var text = try String(contentsOfFile: harness.configPath, encoding: .utf8)
        text = text.replacingOccurrences(of: harness.env["PINPIPE_S3_SECRET_KEY"]!, with: "not-the-secret")
        try text.write(toFile: harness.configPath, atomically: true, encoding: .utf8)
        let run = try await harness.run(["run", "--config", harness.configPath, "--once"], timeout: .seconds(60))
        #expect(run.status != 0)
        #expect(run.output.contains(harness.env["PINPIPE_S3_BUCKET"]!), "\(run.output.suffix(2000))")
        #expect(run.output.contains("403") || run.output.contains("SignatureDoesNotMatch")
                || run.output.contains("AccessDenied"), "\(run.output.suffix(2000))")
        #expect(!run.output.contains("not-the-secret"))
    }

    @Test func checkConfigPassesOnTheExampleAndFailsOnABrokenFile() async throws {
        let harness = try PipelineHarness("cfg")
        let example = TestStack.repoRoot.appendingPathComponent("config/pinpipe.yaml").path
        let good = try await harness.run(["check-config", "--config", example], timeout: .seconds(30))
        #expect(good.status == 0, "\(good.output)")
        #expect(good.output.contains("topic_prefix: \"0ab336d6fcf7\""))
        let broken = harness.directory.appendingPathComponent("broken.yaml").path
        try "kafka:\n  bootstrap_servers: x\n  topic_prefix: p\n  bogus: 1\n".write(toFile: broken, atomically: true, encoding: .utf8)
        let bad = try await harness.run(["check-config", "--config", broken], timeout: .seconds(30))
        #expect(bad.status == 78)
        #expect(bad.output.contains("\(broken):4:3: kafka.bogus: unknown key"), "\(bad.output)")
    }
}
