import Clocks
import Logging
import Support
import Synchronization
import Testing
import TestSupport
@testable import Systemd

/// The supervisor on a test clock: simulated minutes in milliseconds, and no assertion about how fast the machine
/// is (each step waits, with a generous real-time deadline, for what it must see).
@Suite(.timeLimit(.minutes(2))) struct WatchdogSupervisorTests {
    /// Notifications the supervisor sent.
    final class Sent: Sendable {
        let states = Mutex<[[SystemdNotifyState]]>([])
        var pings: Int { states.withLock { $0.filter { $0.contains(.watchdog) }.count } }
        var statuses: Int { states.withLock { $0.filter { $0.contains { if case .status = $0 { true } else { false } } }.count } }
        func record(_ sent: [SystemdNotifyState]) { states.withLock { $0.append(sent) } }
    }

    /// Waits in real time (generously) until `condition` holds.
    static func eventually(_ condition: () -> Bool) async throws -> Bool {
        for _ in 0..<3_000 {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }

    func start(_ heartbeats: Heartbeats, _ sent: Sent, logs: LogCapture, watchdog: Duration = .seconds(30),
               staleAfter: Duration? = nil) -> Task<Void, Never> {
        let supervisor = WatchdogSupervisor(
            heartbeats: heartbeats, watchdogInterval: watchdog, staleAfter: staleAfter, statusInterval: .seconds(5),
            status: { "ok" }, logger: logs.logger(), notify: sent.record)
        return Task { await supervisor.run() }
    }

    @Test func fiveIdleMinutesOfFreshBeatsKeepThePingsGoing() async throws {
        let clock = TestClock()
        let heartbeats = Heartbeats(clock: PipelineClock(clock))
        heartbeats.register("sink")
        let sent = Sent()
        let logs = LogCapture()
        let supervisor = start(heartbeats, sent, logs: logs)
        #expect(try await Self.eventually { sent.pings == 1 }, "no ping at start")
        // 5 minutes: the actor's loop turns once a second (its own tick), no data ever arrives.
        for slot in 1...20 {
            for _ in 0..<15 {
                await clock.advance(by: .seconds(1))
                heartbeats.beat("sink")
            }
            // A ping every 15 s (half of WatchdogSec=30s).
            #expect(try await Self.eventually { sent.pings == slot + 1 }, "slot \(slot): \(sent.pings) pings")
        }
        #expect(sent.pings == 21)
        #expect(sent.statuses >= 60, "a status line every 5 s: \(sent.statuses)")
        #expect(!logs.text.contains("stopped beating"))
        supervisor.cancel()
        await supervisor.value
    }

    @Test func anActorThatStopsBeatingStopsThePingsWithinStaleAfterAndIsNamedOnce() async throws {
        let clock = TestClock()
        let heartbeats = Heartbeats(clock: PipelineClock(clock))
        heartbeats.register("sink")
        heartbeats.register("source")
        let sent = Sent()
        let logs = LogCapture()
        let supervisor = start(heartbeats, sent, logs: logs, watchdog: .seconds(30), staleAfter: .seconds(20))
        #expect(try await Self.eventually { sent.pings == 1 })
        // The sink hangs from now on; the source goes on beating.
        for _ in 0..<20 {
            await clock.advance(by: .seconds(1))
            heartbeats.beat("source")
        }
        // 20 s without a beat is not yet stale (strictly older counts): the ping at 15 s went out.
        #expect(try await Self.eventually { sent.pings == 2 })
        for _ in 0..<10 {
            await clock.advance(by: .seconds(1))
            heartbeats.beat("source")
        }
        // At 30 s the sink's beat is 30 s old, beyond stale_after = 20 s: no ping, and the hang is logged by name.
        #expect(try await Self.eventually { logs.text.contains("actor 'sink' stopped beating") })
        let pingsWhenHung = sent.pings
        #expect(pingsWhenHung == 2)
        for _ in 0..<300 {
            await clock.advance(by: .seconds(1))
            heartbeats.beat("source")
        }
        #expect(try await Self.eventually { sent.statuses >= 66 }, "the supervisor kept turning: \(sent.statuses)")
        #expect(sent.pings == pingsWhenHung, "pinged while the sink hung")
        #expect(logs.entries.filter { $0.message.contains("stopped beating") }.count == 1)
        // It beats again: the pings come back at the next slot, and the recovery is logged once.
        heartbeats.beat("sink")
        await clock.advance(by: .seconds(15))
        #expect(try await Self.eventually { sent.pings == pingsWhenHung + 1 })
        #expect(logs.entries.filter { $0.message.contains("is beating again") }.count == 1)
        supervisor.cancel()
        await supervisor.value
    }

    @Test func withoutAWatchdogOnlyTheStatusGoesOut() async throws {
        let clock = TestClock()
        let heartbeats = Heartbeats(clock: PipelineClock(clock))
        let sent = Sent()
        let supervisor = WatchdogSupervisor(
            heartbeats: heartbeats, watchdogInterval: nil, staleAfter: nil, statusInterval: .seconds(5),
            status: { "ok" }, logger: Logger(label: "x"), notify: sent.record)
        let task = Task { await supervisor.run() }
        #expect(try await Self.eventually { sent.statuses == 1 })
        for expected in 2...7 {
            await clock.advance(by: .seconds(5))
            #expect(try await Self.eventually { sent.statuses == expected })
        }
        #expect(sent.pings == 0)
        task.cancel()
        await task.value
    }
}
