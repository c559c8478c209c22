import Foundation
import Testing
import TestSupport

/// The systemd contract of `pinpipe run`, seen from a NOTIFY_SOCKET the test binds.
@Suite(.serialized) struct SystemdContractTests {
    @Test func readyAfterChecksThenWatchdogAndStatusThenStoppingAndACleanDrainOnSigterm() async throws {
        let harness = try PipelineHarness("notify")
        try harness.writeConfig(mode: "follow", maxRecords: 1000, maxAge: "1s")
        let socket = try NotifySocketListener()
        defer { socket.stop() }
        let running = try harness.start(["run", "--config", harness.configPath],
                                        environment: ["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "2000000"])
        try await running.waitForLog("pinpipe ready")
        // Busy: the snapshot streams and the sink uploads while the signal comes.
        try await Task.sleep(for: .seconds(5))
        running.signal(SIGTERM)
        let status = try await running.wait(timeout: .seconds(90))
        #expect(status == 0, "\(running.output.suffix(3000))")
        let lines = socket.lines
        let ready = try #require(lines.firstIndex { $0.line == "READY=1" }, "no READY=1 in \(lines.map(\.line))")
        let before = lines[..<ready].map(\.line)
        #expect(before.contains("STATUS=starting: checking PostgreSQL"))
        #expect(before.contains("STATUS=starting: checking Kafka topics"))
        #expect(before.contains("STATUS=starting: checking the S3 bucket"), "READY came before the S3 check: \(before)")
        #expect(!before.contains("WATCHDOG=1"))
        let stopping = try #require(lines.firstIndex { $0.line == "STOPPING=1" }, "no STOPPING=1")
        let pings = lines[ready..<stopping].filter { $0.line == "WATCHDOG=1" }
        #expect(pings.count >= 3, "WATCHDOG=1 every ~1 s (half of WATCHDOG_USEC) over ~5 s; got \(pings.count)")
        #expect(lines[ready..<stopping].contains { $0.line.hasPrefix("STATUS=running: produced ") })
        // The drain: producer flushed (everything produced was acknowledged), batches stored and committed.
        #expect(running.output.contains("pinpipe drained and stopped"))
        let final = running.output.split(separator: "\n").last { $0.contains("drained and stopped") }.map(String.init) ?? ""
        let produced = final.firstMatch(of: /produced (\d+) \(acked (\d+)\)/)
        #expect(produced != nil && produced?.1 == produced?.2, "producer not flushed: \(final)")
        let verify = try await harness.run(["verify", "--config", harness.configPath], timeout: .seconds(60))
        #expect(verify.status == 0, "\(verify.output)")
        let partitionLines = verify.output.split(separator: "\n").filter { $0.contains("[") }
        #expect(partitionLines.count == 12)
        #expect(!partitionLines.contains { line in
            let columns = line.split(separator: " ", omittingEmptySubsequences: true)
            return columns.count > 3 && columns[3] != "0"
        }, "an object was left uncommitted after the drain:\n\(verify.output)")
    }

    /// `--once` ends the pipeline itself (no signal): systemd still hears STOPPING=1 before the drain and the exit.
    @Test func runOnceSendsStoppingBeforeItExits() async throws {
        let harness = try PipelineHarness("once")
        try harness.writeConfig(mode: "emulate", roles: "produce", emulate: "{seed: 100, rate: 100, limit: 3}")
        let socket = try NotifySocketListener()
        defer { socket.stop() }
        let running = try harness.start(["run", "--config", harness.configPath, "--once"],
                                        environment: ["NOTIFY_SOCKET": socket.path])
        let status = try await running.wait(timeout: .seconds(90))
        #expect(status == 0, "\(running.output.suffix(3000))")
        // The listener may read the last datagram just after the process ended.
        for _ in 0..<100 where !socket.lines.contains(where: { $0.line == "STOPPING=1" }) {
            try await Task.sleep(for: .milliseconds(20))
        }
        let lines = socket.lines.map(\.line)
        let ready = try #require(lines.firstIndex(of: "READY=1"), "no READY=1 in \(lines)")
        let stopping = try #require(lines.firstIndex(of: "STOPPING=1"), "no STOPPING=1 in \(lines)")
        #expect(ready < stopping)
        #expect(lines.filter { $0 == "STOPPING=1" }.count == 1, "STOPPING=1 once: \(lines)")
        #expect(lines[stopping...].contains { $0.hasPrefix("STATUS=draining: ") })
    }

    @Test func aHungActorStopsTheWatchdogPings() async throws {
        let harness = try PipelineHarness("hang")
        try harness.writeConfig(mode: "follow", maxRecords: 1000, maxAge: "1s")
        let socket = try NotifySocketListener()
        defer { socket.stop() }
        let running = try harness.start(
            ["run", "--config", harness.configPath],
            environment: ["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "2000000",
                          "PINPIPE_TEST_HANG_ACTOR": "consumer", "PINPIPE_TEST_HANG_AFTER": "6"])
        try await running.waitForLog("pinpipe ready")
        try await Task.sleep(for: .seconds(16))
        let lines = socket.lines
        running.signal(SIGKILL)
        _ = try await running.wait(timeout: .seconds(10))
        let pings = lines.filter { $0.line == "WATCHDOG=1" }.map(\.at)
        #expect(pings.count >= 2, "pings before the hang")
        if let last = pings.last {
            #expect(ContinuousClock.now - last > .seconds(4), "pings went on although the consumer hung")
        }
        #expect(running.output.contains("actor 'consumer' stopped beating"), "the hung actor is named in the log")
    }

    /// The bug this guards against: the sink beat only when records arrived, so a finished snapshot stopped the
    /// pings and systemd restarted a healthy service every `WatchdogSec`.
    @Test func anIdlePipelineKeepsThePingsGoing() async throws {
        let harness = try PipelineHarness("idle")
        try harness.writeConfig(mode: "snapshot", maxRecords: 5000, maxAge: "1s")
        let socket = try NotifySocketListener()
        defer { socket.stop() }
        // stale_after = the watchdog interval = 2 s: an idle actor that does not beat is caught within it.
        let running = try harness.start(["run", "--config", harness.configPath],
                                        environment: ["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "2000000"])
        try await running.waitForLog("pinpipe ready")
        try await running.waitForLog("Snapshot of table read", count: 3)
        // Every row is read; give the sink time to store the rest, then watch an idle pipeline for 15 s.
        try await Task.sleep(for: .seconds(5))
        let idleFrom = ContinuousClock.now
        try await Task.sleep(for: .seconds(7))
        // A reload while idle: RELOADING=1 with MONOTONIC_USEC, the log level re-read, READY=1 again.
        running.signal(SIGHUP)
        try await running.waitForLog("SIGHUP: log level is now")
        try await Task.sleep(for: .seconds(8))
        let lines = socket.lines
        let reloading = try #require(lines.firstIndex { $0.line == "RELOADING=1" }, "no RELOADING=1 after SIGHUP")
        #expect(lines[reloading...].contains { $0.line.hasPrefix("MONOTONIC_USEC=") })
        #expect(lines[reloading...].contains { $0.line == "READY=1" }, "no READY=1 after the reload")
        running.signal(SIGTERM)
        let status = try await running.wait(timeout: .seconds(60))
        #expect(status == 0, "\(running.output.suffix(2000))")
        #expect(!running.output.contains("stopped beating"), "\(running.output.suffix(2000))")
        let pings = lines.filter { $0.line == "WATCHDOG=1" && $0.at >= idleFrom }.map(\.at)
        #expect(pings.count >= 8, "WATCHDOG=1 every ~1 s while idle; got \(pings.count) in 15 s")
        var previous = idleFrom
        for ping in pings {
            #expect(ping - previous < .seconds(4), "a gap of \(ping - previous) between watchdog pings while idle")
            previous = ping
        }
        let records = try await harness.storedRecords()
        #expect(records.values.map(\.count).reduce(0, +) > 0, "the snapshot landed nothing in S3")
    }

    /// A sink that truly hangs while idle (blocked in its loop, no records coming) stops the pings.
    @Test func aSinkThatHangsWhileIdleStopsThePings() async throws {
        let harness = try PipelineHarness("idlehang")
        try harness.writeConfig(mode: "snapshot", maxRecords: 5000, maxAge: "1s")
        let socket = try NotifySocketListener()
        defer { socket.stop() }
        let running = try harness.start(
            ["run", "--config", harness.configPath],
            environment: ["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "2000000",
                          "PINPIPE_TEST_HANG_ACTOR": "sink", "PINPIPE_TEST_HANG_AFTER": "12"])
        try await running.waitForLog("pinpipe ready")
        try await running.waitForLog("Snapshot of table read", count: 3)
        try await running.waitForLog("actor 'sink' stopped beating", timeout: .seconds(60))
        try await Task.sleep(for: .seconds(5))
        let lines = socket.lines
        running.signal(SIGKILL)
        _ = try await running.wait(timeout: .seconds(10))
        let pings = lines.filter { $0.line == "WATCHDOG=1" }.map(\.at)
        #expect(pings.count >= 5, "pings before the hang")
        if let last = pings.last {
            #expect(ContinuousClock.now - last > .seconds(4), "pings went on although the sink hung")
        }
    }
}
