import Foundation
import Postgres
import Testing
import TestSupport

/// Outages, crashes and rebalances in the middle of a run, against the local stack.
@Suite(.serialized) struct ResilienceTests {
    let e2e = EndToEndTests()

    /// Keys stored per topic suffix (pin/geo/user), with how often each appears.
    func storedKeys(_ harness: PipelineHarness) async throws -> [String: [Int: Int]] {
        let stored = try await harness.storedRecords()
        var result: [String: [Int: Int]] = [:]
        for (name, _, key) in EndToEndTests.tables {
            var counts: [Int: Int] = [:]
            for (_, line) in stored["\(harness.prefix).\(name)"] ?? [] {
                let object = try JSONSerialization.jsonObject(with: Data(line)) as? NSDictionary
                if let value = (object?[key] as? NSNumber)?.intValue { counts[value, default: 0] += 1 }
            }
            result[name] = counts
        }
        return result
    }

    func runSinkOnce(_ harness: PipelineHarness, s3Endpoint: String? = nil) async throws {
        try harness.writeConfig(roles: "sink", maxRecords: 2000, s3Endpoint: s3Endpoint)
        let sink = try await harness.run(["run", "--config", harness.configPath, "--once"])
        #expect(sink.status == 0, "\(sink.output.suffix(3000))")
    }

    @Test func s3StoppedForAWhileMidRunLosesNothing() async throws {
        let harness = try PipelineHarness("s3out")
        try harness.writeConfig(roles: "produce")
        let produce = try await harness.run(["run", "--config", harness.configPath, "--once"])
        #expect(produce.status == 0, "\(produce.output.suffix(3000))")
        let endpoint = URL(string: harness.env["PINPIPE_S3_ENDPOINT"]!)!
        let proxy = try FaultProxy(target: "\(endpoint.host!):\(endpoint.port!)")
        defer { proxy.stop() }
        try harness.writeConfig(roles: "sink", maxRecords: 1000, maxAge: "1s", s3Endpoint: "http://127.0.0.1:\(proxy.port)")
        let sink = try harness.start(["run", "--config", harness.configPath, "--once"])
        try await sink.waitForLog("pinpipe ready")
        // The bucket checked out; now S3 goes away before the first upload (the group join alone takes seconds).
        proxy.down()
        // Longer than the S3 client's connect timeout (5 s) twice over, so failed attempts surface as retries.
        try await Task.sleep(for: .seconds(15))
        proxy.up()
        let status = try await sink.wait(timeout: .seconds(180))
        #expect(status == 0, "\(sink.output.suffix(3000))")
        #expect(sink.output.contains("retrying"), "the outage was not noticed")
        let verify = try await harness.run(["verify", "--config", harness.configPath], timeout: .seconds(60))
        #expect(verify.status == 0, "\(verify.output)")
        try await e2e.checkExactlyOnce(harness, expected: try await e2e.expectedRows(harness))
    }

    @Test func postgresRestartedMidRunReconnectsAndContinues() async throws {
        let harness = try PipelineHarness("pgout")
        let proxy = try FaultProxy(target: "\(harness.env["PINPIPE_PG_HOST"]!):\(harness.env["PINPIPE_PG_PORT"]!)")
        defer { proxy.stop() }
        let creds = harness.directory.appendingPathComponent("proxied_creds.yaml").path
        try String(contentsOfFile: harness.env["PINPIPE_DB_CREDS"]!, encoding: .utf8)
            .replacingOccurrences(of: "PORT: \(harness.env["PINPIPE_PG_PORT"]!)", with: "PORT: \(proxy.port)")
            .write(toFile: creds, atomically: true, encoding: .utf8)
        chmod(creds, 0o600)
        // One row per round trip: the snapshot lasts seconds, so the cut surely falls in the middle of it.
        try harness.writeConfig(roles: "produce", credentials: creds, fetchSize: 1)
        let producer = try harness.start(["run", "--config", harness.configPath, "--once"])
        try await producer.waitForLog("pinpipe ready")
        // The start-up check passed; the database now restarts under the source (every connection is cut).
        proxy.down()
        try await Task.sleep(for: .seconds(3))
        proxy.up()
        let status = try await producer.wait(timeout: .seconds(180))
        #expect(status == 0, "\(producer.output.suffix(3000))")
        #expect(producer.output.contains("PostgreSQL unavailable"), "the restart was not noticed")
        try await runSinkOnce(harness)
        let keys = try await storedKeys(harness)
        for (name, _, _) in EndToEndTests.tables {
            #expect(keys[name]?.count == 11_153, "\(name): every row at least once after the reconnect")
        }
    }

    @Test func killedMidSnapshotResumesFromTheAcknowledgedCheckpoint() async throws {
        let harness = try PipelineHarness("kill9")
        try harness.writeConfig(roles: "produce", fetchSize: 500)
        let first = try harness.start(["run", "--config", harness.configPath])
        try await first.waitForLog("pinpipe ready")
        try await Task.sleep(for: .milliseconds(1500))
        first.signal(SIGKILL)
        _ = try await first.wait(timeout: .seconds(10))
        let checkpointFile = harness.directory.appendingPathComponent("state/checkpoint-\(harness.prefix).json")
        let saved = try JSONSerialization.jsonObject(with: Data(contentsOf: checkpointFile)) as? [String: Any]
        let checkpoint = try #require(saved?["tables"] as? [String: NSNumber])
        // Everything at or below the checkpoint was acknowledged by Kafka before the kill.
        try await runSinkOnce(harness)
        let afterKill = try await storedKeys(harness)
        for (name, value) in checkpoint {
            let missing = (0...value.intValue).filter { afterKill[name]?[$0] == nil }
            #expect(missing.isEmpty, "\(name): keys at or below the checkpoint \(value) missing from Kafka: \(missing.prefix(5))")
        }
        // The restart resumes and every row is present at least once.
        try harness.writeConfig(roles: "produce", fetchSize: 500)
        let second = try await harness.run(["run", "--config", harness.configPath, "--once"])
        #expect(second.status == 0, "\(second.output.suffix(3000))")
        #expect(second.output.contains("Resuming from checkpoint") || checkpoint.isEmpty)
        try await runSinkOnce(harness)
        let keys = try await storedKeys(harness)
        for (name, _, _) in EndToEndTests.tables {
            #expect(keys[name]?.count == 11_153, "\(name): every row at least once")
        }
    }

    @Test func twoSinksWithARebalanceStoreEveryRecordOnce() async throws {
        let harness = try PipelineHarness("twosinks")
        try harness.writeConfig(roles: "produce")
        let produce = try await harness.run(["run", "--config", harness.configPath, "--once"])
        #expect(produce.status == 0, "\(produce.output.suffix(3000))")
        try harness.writeConfig(roles: "sink", maxRecords: 500, maxAge: "1s")
        let first = try harness.start(["run", "--config", harness.configPath])
        try await first.waitForLog("Partitions assigned")
        try await Task.sleep(for: .seconds(1))
        let second = try harness.start(["run", "--config", harness.configPath])
        let deadline = ContinuousClock.now + .seconds(150)
        var total = 0
        while ContinuousClock.now < deadline {
            total = try await harness.storedRecords().values.reduce(0) { $0 + $1.count }
            if total >= 3 * 11_153 { break }
            try await Task.sleep(for: .seconds(2))
        }
        first.signal(SIGTERM)
        second.signal(SIGTERM)
        let firstStatus = try await first.wait(timeout: .seconds(60))
        let secondStatus = try await second.wait(timeout: .seconds(60))
        #expect(firstStatus == 0, "\(first.output.suffix(2000))")
        #expect(secondStatus == 0, "\(second.output.suffix(2000))")
        #expect(first.output.contains("Partitions revoked"), "no rebalance happened")
        let verify = try await harness.run(["verify", "--config", harness.configPath], timeout: .seconds(60))
        #expect(verify.status == 0, "\(verify.output)")
        try await e2e.checkExactlyOnce(harness, expected: try await e2e.expectedRows(harness))
    }
}
