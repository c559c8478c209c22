import AsyncAlgorithms
import Kafka
import Logging
import PipelineConfig
import Synchronization
import Systemd
import Testing

@testable import Pipeline

/// Liveness means "the loop turns", not "data arrives": idle loops and retry waits beat, blocked handlers do not.
@Suite struct LivenessTests {
    /// The largest heartbeat age of `name` seen while sampling every 50 ms for `duration`.
    func maxAge(_ heartbeats: Heartbeats, _ name: String, over duration: Duration) async throws -> Duration {
        var worst = Duration.zero
        let end = ContinuousClock.now + duration
        while ContinuousClock.now < end {
            try await Task.sleep(for: .milliseconds(50))
            if let age = heartbeats.ages(now: .now)[name] { worst = max(worst, age) }
        }
        return worst
    }

    func makeSink(heartbeats: Heartbeats, hooks: TestHooks = .none, deadLetter: any DeadLetterWriter = MemoryDeadLetters(),
                  store: MemoryStore = MemoryStore()) -> S3Sink {
        var settings = S3SinkSettings()
        settings.bucket = "b"
        settings.batch = BatchLimits(maxRecords: 1000, maxBytes: 1 << 20, maxAge: .seconds(60))
        return S3Sink(settings: settings, objectStore: store, committer: MemoryCommitter(store: store),
                      deadLetter: deadLetter, stats: PipelineStats(), heartbeats: heartbeats, hooks: hooks,
                      logger: Logger(label: "test"), onFatal: {})
    }

    @Test func anIdleSinkKeepsBeatingAndStopsWhenItsInputEnds() async throws {
        let heartbeats = Heartbeats()
        let sink = makeSink(heartbeats: heartbeats)
        let (input, continuation) = AsyncStream<SinkInput>.makeStream()
        let running = Task { try await sink.run(input: input) }
        // No record ever arrives: the loop still turns on its own tick (250 ms at most).
        let worst = try await maxAge(heartbeats, "sink", over: .seconds(3))
        #expect(heartbeats.names == ["sink"])
        #expect(worst < .milliseconds(1500), "an idle sink stopped beating (oldest beat \(worst))")
        continuation.finish()
        try await running.value
        #expect(heartbeats.names.isEmpty, "a sink whose input ended unregisters")
    }

    @Test func aBlockedSinkHandlerStopsTheBeatsEvenWithoutInput() async throws {
        let heartbeats = Heartbeats()
        let hooks = TestHooks(environment: ["PINPIPE_TEST_HANG_ACTOR": "sink", "PINPIPE_TEST_HANG_AFTER": "0.3"])
        let sink = makeSink(heartbeats: heartbeats, hooks: hooks)
        let (input, continuation) = AsyncStream<SinkInput>.makeStream()
        let running = Task { try await sink.run(input: input) }
        try await Task.sleep(for: .seconds(2))
        let age = try #require(heartbeats.ages(now: .now)["sink"])
        #expect(age > .seconds(1), "the sink's loop is blocked in its handler, yet it beat \(age) ago")
        continuation.finish()
        running.cancel()
        _ = try? await running.value
    }

    /// A dead-letter location that is down for a while: the sink retries, beating while it waits.
    final class FailingDeadLetters: DeadLetterWriter, Sendable {
        let until: ContinuousClock.Instant
        let attempts = Mutex(0)
        init(downFor: Duration) { until = .now + downFor }

        struct Down: Error, RetriableError { var isRetriable: Bool { true } }

        func write(_ message: KafkaMessage, reason: String) async throws {
            attempts.withLock { $0 += 1 }
            if ContinuousClock.now < until { throw Down() }
        }
    }

    @Test func theDeadLetterRetryWaitKeepsBeating() async throws {
        let heartbeats = Heartbeats()
        let dead = FailingDeadLetters(downFor: .seconds(3))
        let sink = makeSink(heartbeats: heartbeats, deadLetter: dead)
        let (input, continuation) = AsyncStream<SinkInput>.makeStream()
        let running = Task { try await sink.run(input: input) }
        let bad = KafkaMessage(topic: "p.pin", partition: 0, offset: 0, key: nil, value: Array("not json".utf8),
                               timestamp: 0, headers: [])
        continuation.yield(SinkInput(messages: [bad], epoch: 0))
        let worst = try await maxAge(heartbeats, "sink", over: .seconds(3.5))
        #expect(dead.attempts.withLock { $0 } >= 2, "the dead-letter write was never retried")
        #expect(worst < .milliseconds(1500), "the sink stopped beating in its retry wait (oldest beat \(worst))")
        continuation.finish()
        try await running.value
    }

    @Test func aLongRetryWaitBeatsAndEndsAtOnceOnShutdown() async throws {
        let heartbeats = Heartbeats()
        let liveness = ActorLiveness(heartbeats: heartbeats, name: "source", tick: .milliseconds(200))
        liveness.register()
        let shutdown = ShutdownSignal()
        let waiting = Task { await liveness.sleep(for: .seconds(60), or: shutdown) }
        let worst = try await maxAge(heartbeats, "source", over: .seconds(1.5))
        #expect(worst < .milliseconds(900), "a backoff wait stopped beating (oldest beat \(worst))")
        let triggered = ContinuousClock.now
        shutdown.trigger()
        #expect(await waiting.value == true)
        #expect(ContinuousClock.now - triggered < .seconds(1), "the wait did not end on shutdown")
    }

    @Test func waitingOnADependencyBeatsUntilItAnswers() async throws {
        let heartbeats = Heartbeats()
        let liveness = ActorLiveness(heartbeats: heartbeats, name: "source", tick: .milliseconds(200))
        liveness.register()
        let answer = ShutdownSignal()  // stands in for the broker's acknowledgement
        let waiting = Task { await liveness.whileWaiting { () async -> Int in await answer.wait(); return 7 } }
        let worst = try await maxAge(heartbeats, "source", over: .seconds(1.5))
        #expect(worst < .milliseconds(900), "waiting for acknowledgements stopped the beats (oldest beat \(worst))")
        answer.trigger()
        #expect(await waiting.value == 7)
        // Once the wait is over, beats come only from the loop again.
        try await Task.sleep(for: .seconds(1))
        #expect(try #require(heartbeats.ages(now: .now)["source"]) > .milliseconds(500))
    }

    @Test func shutdownWaitsAreContinuationsThatCancellationEnds() async throws {
        let shutdown = ShutdownSignal()
        let waiter = Task { await shutdown.wait() }
        try await Task.sleep(for: .milliseconds(100))
        waiter.cancel()
        await waiter.value  // returns although never triggered
        #expect(!shutdown.isTriggered)
        let started = ContinuousClock.now
        #expect(await shutdown.sleep(for: .milliseconds(200)) == false)
        #expect(ContinuousClock.now - started >= .milliseconds(200))
    }

    @Test func aFullChannelWakesItsWaiterWhenTheSinkDrains() async throws {
        let (channel, elements) = BoundedChannel<Int>.make(low: 1, high: 2, weight: { _ in 1 })
        channel.trySend(1)
        channel.trySend(2)
        channel.trySend(3)
        #expect(channel.isFull)
        let waiter = Task { await channel.waitUntilNotFull(timeout: .seconds(30)) }
        try await Task.sleep(for: .milliseconds(100))
        let started = ContinuousClock.now
        var drained = 0
        for await _ in elements {
            drained += 1
            if drained == 3 { break }
        }
        #expect(await waiter.value == true)
        #expect(ContinuousClock.now - started < .seconds(5), "the waiter was not woken by the drain")
    }
}
