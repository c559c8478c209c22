import Clocks
import Support
import Synchronization
import Systemd
import Testing

@testable import Pipeline

/// ActorLiveness' waits on a test clock: they beat once per tick of simulated time, end at their deadline, on
/// shutdown or on cancellation, and leave no ticker behind.
@Suite(.timeLimit(.minutes(2))) struct ActorLivenessTests {
    static func eventually(within limit: Duration = .seconds(30), _ condition: () -> Bool) async throws -> Bool {
        for _ in 0..<Int(limit.components.seconds * 100) {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }

    func make() -> (TestClock<Duration>, Heartbeats, ActorLiveness) {
        let clock = TestClock()
        let heartbeats = Heartbeats(clock: PipelineClock(clock))
        let liveness = ActorLiveness(heartbeats: heartbeats, name: "source", tick: .seconds(1))
        liveness.register()
        return (clock, heartbeats, liveness)
    }

    @Test func aFiveMinuteBackoffBeatsEverySimulatedSecondAndEndsOnTime() async throws {
        let (clock, heartbeats, liveness) = make()
        let ended = Atomic<Bool>(false)
        let waiting = Task {
            defer { ended.store(true, ordering: .relaxed) }
            return await liveness.sleep(for: .seconds(300), or: ShutdownSignal())
        }
        #expect(try await Self.eventually { heartbeats.beatCount("source") >= 1 })
        // On a loaded machine a sleeper (the ticker after a beat, or the 300 s wait itself at the start) may not be
        // registered when the clock moves: then that second passes unnoticed by it and counts from the next one.
        // So a beat must come within two ticks, and the wait must end between 300 and 302 simulated seconds.
        var advanced = 0
        while advanced < 299 {
            let before = heartbeats.beatCount("source")
            var beat = false
            for _ in 0..<2 where !beat {
                await clock.advance(by: .seconds(1))
                advanced += 1
                beat = try await Self.eventually(within: .seconds(2)) { heartbeats.beatCount("source") > before }
            }
            #expect(beat, "no beat within two ticks at \(advanced) s")
            let endedEarly = ended.load(ordering: .relaxed) && advanced < 300
            #expect(!endedEarly, "ended early, at \(advanced) s")
        }
        for _ in 0..<3 where !ended.load(ordering: .relaxed) {
            await clock.advance(by: .seconds(1))
            advanced += 1
            _ = try await Self.eventually(within: .seconds(2)) { ended.load(ordering: .relaxed) }
        }
        let hasEnded = ended.load(ordering: .relaxed)
        #expect(hasEnded, "still waiting after \(advanced) simulated seconds")
        #expect((300...302).contains(advanced), "ended at \(advanced) s")
        #expect(await waiting.value == false, "ended by its deadline, not a shutdown")
        #expect(heartbeats.stale(olderThan: .seconds(1), now: heartbeats.clock.now).isEmpty)
    }

    @Test func aWaitEndsOnShutdownWithoutTimePassing() async throws {
        let (_, heartbeats, liveness) = make()
        let shutdown = ShutdownSignal()
        let waiting = Task { await liveness.sleep(for: .seconds(3600), or: shutdown) }
        #expect(try await Self.eventually { heartbeats.beatCount("source") >= 1 })
        shutdown.trigger()
        #expect(await waiting.value == true)
    }

    @Test func aWaitEndsOnCancellation() async throws {
        let (_, heartbeats, liveness) = make()
        let waiting = Task { await liveness.sleep(for: .seconds(3600)) }
        #expect(try await Self.eventually { heartbeats.beatCount("source") >= 1 })
        waiting.cancel()
        #expect(await waiting.value == false)
    }

    @Test func waitingOnADependencyBeatsEveryTickAndLeavesNoTickerBehind() async throws {
        let (clock, heartbeats, liveness) = make()
        let answer = AsyncCondition()  // stands in for the broker's acknowledgement
        let waiting = Task { await liveness.whileWaiting { () async -> Int in await answer.wait(); return 7 } }
        #expect(try await Self.eventually { heartbeats.beatCount("source") >= 1 })
        for second in 1...120 {
            // The ticker may not have started its next sleep when the clock moves (a loaded machine): then that
            // second passes unnoticed by it, and the next one wakes it. So a beat must come within two ticks.
            let before = heartbeats.beatCount("source")
            var beat = false
            for _ in 0..<2 where !beat {
                await clock.advance(by: .seconds(1))
                beat = try await Self.eventually(within: .seconds(2)) { heartbeats.beatCount("source") > before }
            }
            #expect(beat, "no beat within two ticks at \(second) s")
        }
        answer.set()
        #expect(await waiting.value == 7)
        let after = heartbeats.beatCount("source")
        await clock.advance(by: .seconds(600))
        try await Task.sleep(for: .milliseconds(100))
        #expect(heartbeats.beatCount("source") == after, "a ticker outlived the wait")
    }
}
