import Clocks
import Support
import Testing
@testable import Systemd

@Suite struct HeartbeatsTests {
    @Test func staleOnlyAfterThreshold() async {
        let clock = TestClock()
        let beats = Heartbeats(clock: PipelineClock(clock))
        beats.register("source")
        beats.register("sink")
        #expect(beats.stale(olderThan: .seconds(5), now: beats.clock.now).isEmpty)
        await clock.advance(by: .seconds(5))
        #expect(beats.stale(olderThan: .seconds(5), now: beats.clock.now).isEmpty, "stale means strictly older")
        await clock.advance(by: .seconds(1))
        #expect(beats.stale(olderThan: .seconds(5), now: beats.clock.now) == ["sink", "source"])
    }

    @Test func beatRefreshesOnlyThatActor() async throws {
        let clock = TestClock()
        let beats = Heartbeats(clock: PipelineClock(clock))
        beats.register("a")
        beats.register("b")
        await clock.advance(by: .milliseconds(60))
        beats.beat("a")
        await clock.advance(by: .milliseconds(10))
        #expect(beats.stale(olderThan: .milliseconds(40), now: beats.clock.now) == ["b"])
        let ages = beats.ages()
        #expect(ages["a"] == .milliseconds(10))
        #expect(ages["b"] == .milliseconds(70))
        #expect(beats.beatCount("a") == 1)
    }

    @Test func unregisterAndLateBeats() {
        let beats = Heartbeats()
        beats.register("consumer")
        beats.unregister("consumer")
        beats.beat("consumer")  // late beat after the loop ended must not re-register
        #expect(beats.names.isEmpty)
        #expect(beats.stale(olderThan: .zero, now: beats.clock.now + .seconds(100)).isEmpty)
    }

    @Test func concurrentBeatsAreSafe() async {
        let clock = TestClock()
        let beats = Heartbeats(clock: PipelineClock(clock))
        let names = (0..<8).map { "actor\($0)" }
        names.forEach(beats.register)
        await withTaskGroup(of: Void.self) { group in
            for name in names {
                group.addTask { for _ in 0..<2_000 { beats.beat(name) } }
            }
        }
        #expect(beats.names == names.sorted())
        #expect(names.allSatisfy { beats.beatCount($0) == 2_000 })
        #expect(beats.stale(olderThan: .zero, now: beats.clock.now).isEmpty, "no time passed on the test clock")
    }
}
