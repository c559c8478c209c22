import Support
import Testing
@testable import Systemd

@Suite struct WatchdogDecisionTests {
    @Test func pingsWhileAllFresh() {
        var decision = WatchdogDecision(staleAfter: .seconds(30))
        let action = decision.evaluate(ages: ["source": .seconds(1), "sink": .seconds(29)])
        #expect(action == .init(ping: true))
    }

    @Test func staleActorStopsPingsAndIsReportedOnce() {
        var decision = WatchdogDecision(staleAfter: .seconds(30))
        let first = decision.evaluate(ages: ["source": .seconds(1), "sink": .seconds(31)])
        #expect(!first.ping)
        #expect(first.newlyHung == ["sink"])
        #expect(first.hung == ["sink"])
        let second = decision.evaluate(ages: ["source": .seconds(2), "sink": .seconds(40)])
        #expect(!second.ping)
        #expect(second.newlyHung.isEmpty)
        #expect(second.hung == ["sink"])
        let third = decision.evaluate(ages: ["source": .seconds(45), "sink": .seconds(50)])
        #expect(third.newlyHung == ["source"])
        #expect(third.hung == ["sink", "source"])
    }

    @Test func recoveryResumesPingsAndIsReportedOnce() {
        var decision = WatchdogDecision(staleAfter: .seconds(10))
        _ = decision.evaluate(ages: ["consumer": .seconds(11)])
        let back = decision.evaluate(ages: ["consumer": .milliseconds(5)])
        #expect(back == .init(ping: true, recovered: ["consumer"]))
        #expect(decision.evaluate(ages: ["consumer": .milliseconds(5)]) == .init(ping: true))
        // Unregistered while hung: it counts as recovered (no longer watched).
        _ = decision.evaluate(ages: ["consumer": .seconds(11)])
        #expect(decision.evaluate(ages: [:]) == .init(ping: true, recovered: ["consumer"]))
    }

    @Test func ageEqualToThresholdIsNotStale() {
        var decision = WatchdogDecision(staleAfter: .seconds(10))
        #expect(decision.evaluate(ages: ["a": .seconds(10)]).ping)
        #expect(!decision.evaluate(ages: ["a": .seconds(10) + .nanoseconds(1)]).ping)
    }

    @Test func thresholdDefaultsToWatchdogInterval() {
        #expect(WatchdogDecision.threshold(watchdogInterval: .seconds(30), staleAfter: nil) == .seconds(30))
        #expect(WatchdogDecision.threshold(watchdogInterval: .seconds(30), staleAfter: .seconds(5)) == .seconds(5))
        #expect(WatchdogDecision.threshold(watchdogInterval: nil, staleAfter: nil) == nil)
        #expect(SystemdWatchdog.pingInterval(for: .seconds(30)) == .seconds(15))
    }

    @Test func supervisorGridSkipsMissedSlots() {
        let t0 = PipelineClock.Instant(offset: .seconds(7))
        #expect(WatchdogSupervisor.advance(t0, by: .seconds(1), past: t0) == t0 + .seconds(1))
        #expect(WatchdogSupervisor.advance(t0, by: .seconds(1), past: t0 + .milliseconds(3500)) == t0 + .seconds(4))
    }
}
