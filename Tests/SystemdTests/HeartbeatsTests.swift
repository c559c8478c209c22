import Testing
@testable import Systemd

@Suite struct HeartbeatsTests {
    @Test func staleOnlyAfterThreshold() {
        let beats = Heartbeats()
        beats.register("source")
        beats.register("sink")
        let now = ContinuousClock.now
        #expect(beats.stale(olderThan: .seconds(5), now: now).isEmpty)
        #expect(beats.stale(olderThan: .seconds(5), now: now + .seconds(6)) == ["sink", "source"])
    }

    @Test func beatRefreshesOnlyThatActor() async throws {
        let beats = Heartbeats()
        beats.register("a")
        beats.register("b")
        try await Task.sleep(for: .milliseconds(60))
        beats.beat("a")
        let now = ContinuousClock.now
        #expect(beats.stale(olderThan: .milliseconds(40), now: now) == ["b"])
        let ages = beats.ages(now: now)
        #expect(try #require(ages["a"]) < .milliseconds(40))
        #expect(try #require(ages["b"]) >= .milliseconds(60))
    }

    @Test func unregisterAndLateBeats() {
        let beats = Heartbeats()
        beats.register("consumer")
        beats.unregister("consumer")
        beats.beat("consumer")  // late beat after the loop ended must not re-register
        #expect(beats.names.isEmpty)
        #expect(beats.stale(olderThan: .zero, now: .now + .seconds(100)).isEmpty)
    }

    @Test func concurrentBeatsAreSafe() async {
        let beats = Heartbeats()
        let names = (0..<8).map { "actor\($0)" }
        names.forEach(beats.register)
        await withTaskGroup(of: Void.self) { group in
            for name in names {
                group.addTask { for _ in 0..<2_000 { beats.beat(name) } }
            }
        }
        #expect(beats.names == names.sorted())
        #expect(beats.stale(olderThan: .seconds(60), now: .now).isEmpty)  // safety, not speed: the machine is shared
    }
}
