import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
@testable import Pipeline
import TestSupport
import Testing

/// The real binary on the local stack, scraped over its loopback listener.
@Suite(.serialized) struct MetricsEndpointTests {
    /// A free loopback port (bound, then released) for this run's listener.
    static func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port ?? 0
        try await channel.close()
        return port
    }

    static func fetch(_ url: String, method: HTTPMethod = .GET) async throws -> (status: Int, body: String) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 16 << 20)
        return (Int(response.status.code), String(buffer: body))
    }

    /// One run: the scrape's stored records and objects equal what an independent S3 reader finds, STATUS says the
    /// same figures, `pinpipe status` reads them, and `/healthz` turns 503 naming the actor when it hangs.
    @Test func scrapesAgreeWithS3AndHealthFollowsTheWatchdog() async throws {
        let harness = try PipelineHarness("metrics")
        let port = try await Self.freePort()
        try harness.writeConfig(mode: "follow", maxRecords: 2000, maxAge: "1s", metricsListen: "127.0.0.1:\(port)")
        let socket = try NotifySocketListener()
        defer { socket.stop() }
        let running = try harness.start(
            ["run", "--config", harness.configPath],
            environment: ["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "3000000",
                          "PINPIPE_TEST_HANG_ACTOR": "consumer", "PINPIPE_TEST_HANG_AFTER": "45"])
        defer { if running.process.isRunning { running.signal(SIGKILL) } }
        let base = "http://127.0.0.1:\(port)"
        try await running.waitForLog("pinpipe ready")
        #expect(try await Self.fetch("\(base)/readyz").status == 200)
        let health = try await Self.fetch("\(base)/healthz")
        #expect(health.status == 200 && health.body.contains(#""status":"ok""#), "\(health)")
        #expect(try await Self.fetch("\(base)/nope").status == 404)
        #expect(try await Self.fetch("\(base)/metrics", method: .POST).status == 405)

        // Wait until the snapshot is stored: the figures stop moving with nothing lagging.
        var figures = MetricsSnapshot(samples: [])
        var previous = -1.0
        let deadline = ContinuousClock.now + .seconds(40)
        while ContinuousClock.now < deadline {
            figures = MetricsSnapshot(parsing: try await Self.fetch("\(base)/metrics").body)
            let stored = figures.sum(MetricName.uploadedRecords)
            if stored > 0, stored == previous, stored == figures.sum(MetricName.produced),
               figures.sum(MetricName.lag) == 0 { break }
            previous = stored
            try await Task.sleep(for: .seconds(2))
        }
        let stored = try await harness.storedRecords()
        for topic in harness.topics {
            let lines = stored[topic] ?? []
            #expect(lines.count > 0)
            #expect(figures.sum(MetricName.uploadedRecords, matching: ["topic": topic]) == Double(lines.count),
                    "records of \(topic): scrape vs S3")
            #expect(figures.sum(MetricName.objects, matching: ["topic": topic]) == Double(Set(lines.map(\.key)).count),
                    "objects of \(topic): scrape vs S3")
            #expect(figures.sum(MetricName.consumed, matching: ["topic": topic]) == Double(lines.count))
        }
        let total = Int(figures.sum(MetricName.uploadedRecords))
        let objects = Int(figures.sum(MetricName.objects))
        #expect(figures.value(MetricName.watchdogOK) == 1)
        #expect(figures.value(MetricName.ready) == 1)
        #expect(figures.samples(MetricName.buildInfo).first?.labels["librdkafka"]?.isEmpty == false)
        #expect((figures.value(MetricName.residentMemory) ?? 0) > 1_000_000)
        #expect(figures.sum(MetricName.s3RequestDuration + "_count", matching: ["operation": "put"]) >= Double(objects))

        // STATUS, sent every 5 s, shows the same figures.
        try await Task.sleep(for: .seconds(6))
        #expect(socket.lines.contains { $0.line.hasPrefix("STATUS=") && $0.line.contains("uploaded \(total) in \(objects) objects") },
                "no STATUS line with uploaded \(total) in \(objects) objects: \(socket.lines.suffix(3).map(\.line))")

        // `pinpipe status` reads the same endpoint.
        let status = try await harness.run(["status", "--config", harness.configPath], timeout: .seconds(30))
        #expect(status.status == 0, "\(status.output)")
        #expect(status.output.contains("ready, watchdog OK"), "\(status.output)")
        #expect(status.output.contains("stored \(StatusReport.count(Double(total))) records in \(objects) objects"), "\(status.output)")

        // The consumer hangs (test hook): /healthz says so by name, as the watchdog does.
        var hung = (status: 0, body: "")
        let hangDeadline = ContinuousClock.now + .seconds(90)
        while ContinuousClock.now < hangDeadline {
            hung = try await Self.fetch("\(base)/healthz")
            if hung.status == 503 { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        #expect(hung.status == 503 && hung.body.contains(#""hung":["consumer"]"#), "\(hung)")
        let after = MetricsSnapshot(parsing: try await Self.fetch("\(base)/metrics").body)
        #expect(after.value(MetricName.watchdogOK) == 0)
        #expect(after.value(MetricName.actorUp, matching: ["actor": "consumer"]) == 0)
        let hungStatus = try await harness.run(["status", "--config", harness.configPath], timeout: .seconds(30))
        #expect(hungStatus.status == 1 && hungStatus.output.contains("hung: consumer"), "\(hungStatus.output)")
        running.signal(SIGKILL)
        _ = try await running.wait(timeout: .seconds(10))
    }

    @Test func aTakenPortLeavesThePipelineRunning() async throws {
        let harness = try PipelineHarness("metricsport")
        let blocker = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        defer { blocker.close(promise: nil) }
        let port = blocker.localAddress?.port ?? 0
        try harness.writeConfig(metricsListen: "127.0.0.1:\(port)")
        let result = try await harness.run(["run", "--once", "--config", harness.configPath])
        #expect(result.status == 0, "\(result.output.suffix(2000))")
        #expect(result.output.contains("metrics.listen 127.0.0.1:\(port): cannot listen"), "\(result.output.suffix(2000))")
    }
}
