import AsyncAlgorithms
import Kafka
import Logging
import PipelineConfig
import Synchronization
import Systemd
import Testing

@testable import Pipeline

/// Liveness means "the loop turns", not "data arrives": idle loops and retry waits beat, blocked handlers do not.
///
/// The assertions count beats (loop turns) while a condition holds, never how fast the machine is: a busy machine
/// makes these tests slower, not wrong. Each waits with a generous deadline for what it needs to see.
@Suite(.timeLimit(.minutes(2))) struct LivenessTests {
    /// Waits (generously) until `condition` holds; false when it never did.
    func eventually(_ deadline: Duration = .seconds(60), _ condition: () -> Bool) async throws -> Bool {
        let end = ContinuousClock.now + deadline
        while !condition() {
            if ContinuousClock.now > end { return false }
            try await Task.sleep(for: .milliseconds(20))
        }
        return true
    }

    func makeSink(heartbeats: Heartbeats, deadLetter: any DeadLetterWriter = MemoryDeadLetters()) -> S3Sink {
        var settings = S3SinkSettings()
        settings.bucket = "b"
        settings.batch = BatchLimits(maxRecords: 1000, maxBytes: 1 << 20, maxAge: .seconds(60))
        let store = MemoryStore()
        return S3Sink(settings: settings, objectStore: store, committer: MemoryCommitter(store: store),
                      deadLetter: deadLetter, stats: PipelineStats(), heartbeats: heartbeats, hooks: .none,
                      logger: Logger(label: "test"), onFatal: {})
    }

    func badRecord() -> SinkInput {
        SinkInput(messages: [KafkaMessage(topic: "p.pin", partition: 0, offset: 0, key: nil, value: Array("not json".utf8),
                                          timestamp: 0, headers: [])], epoch: 0)
    }

    @Test func anIdleSinkKeepsBeatingAndStopsWhenItsInputEnds() async throws {
        let heartbeats = Heartbeats()
        let sink = makeSink(heartbeats: heartbeats)
        let (input, continuation) = AsyncStream<SinkInput>.makeStream()
        let running = Task { try await sink.run(input: input) }
        // No record ever arrives: the loop still turns on its own tick.
        let turned = try await eventually { heartbeats.beatCount("sink") >= 8 }
        #expect(turned, "an idle sink's loop did not turn (\(heartbeats.beatCount("sink")) beats)")
        continuation.finish()
        try await running.value
        #expect(heartbeats.names.isEmpty, "a sink whose input ended unregisters")
    }

    /// A dead-letter location whose writes never return: the sink's handler is truly stuck.
    final class StuckDeadLetters: DeadLetterWriter, Sendable {
        let entered = Mutex(false)
        func write(_ message: KafkaMessage, reason: String) async throws {
            entered.withLock { $0 = true }
            await AsyncCondition().wait()  // never set: returns only when cancelled
            throw CancellationError()
        }
    }

    @Test func aBlockedSinkHandlerStopsTheBeats() async throws {
        let heartbeats = Heartbeats()
        let stuck = StuckDeadLetters()
        let sink = makeSink(heartbeats: heartbeats, deadLetter: stuck)
        let (input, continuation) = AsyncStream<SinkInput>.makeStream()
        let running = Task { try await sink.run(input: input) }
        continuation.yield(badRecord())
        #expect(try await eventually { stuck.entered.withLock { $0 } }, "the handler never reached the stuck write")
        let before = heartbeats.beatCount("sink")
        try await Task.sleep(for: .seconds(2))
        #expect(heartbeats.beatCount("sink") == before, "the sink beat although its handler is stuck")
        continuation.finish()
        running.cancel()
        _ = try? await running.value
    }

    /// A dead-letter location that refuses the first writes: the sink retries, beating while it waits.
    final class FailingDeadLetters: DeadLetterWriter, Sendable {
        let failures: Int
        let beatsAtAttempt = Mutex<[Int]>([])
        let heartbeats: Heartbeats
        init(failures: Int, heartbeats: Heartbeats) {
            self.failures = failures
            self.heartbeats = heartbeats
        }

        struct Down: Error, RetriableError { var isRetriable: Bool { true } }

        func write(_ message: KafkaMessage, reason: String) async throws {
            let attempt = beatsAtAttempt.withLock { list in
                list.append(heartbeats.beatCount("sink"))
                return list.count
            }
            if attempt <= failures { throw Down() }
        }
    }

    @Test func theDeadLetterRetryWaitKeepsBeating() async throws {
        let heartbeats = Heartbeats()
        let dead = FailingDeadLetters(failures: 2, heartbeats: heartbeats)
        let sink = makeSink(heartbeats: heartbeats, deadLetter: dead)
        let (input, continuation) = AsyncStream<SinkInput>.makeStream()
        let running = Task { try await sink.run(input: input) }
        continuation.yield(badRecord())
        #expect(try await eventually { dead.beatsAtAttempt.withLock { $0.count } == 3 }, "no third attempt")
        let beats = dead.beatsAtAttempt.withLock { $0 }
        // Between attempts the sink's loop cannot turn (it is in the handler), so only the retry wait beats.
        #expect(beats[1] > beats[0] && beats[2] > beats[1], "no beat inside the retry waits: \(beats)")
        continuation.finish()
        try await running.value
    }

    @Test func aLongRetryWaitBeatsAndEndsOnShutdown() async throws {
        let heartbeats = Heartbeats()
        let liveness = ActorLiveness(heartbeats: heartbeats, name: "source", tick: .milliseconds(100))
        liveness.register()
        let shutdown = ShutdownSignal()
        let waiting = Task { await liveness.sleep(for: .seconds(600), or: shutdown) }
        #expect(try await eventually { heartbeats.beatCount("source") >= 5 }, "a backoff wait did not beat")
        shutdown.trigger()
        #expect(await waiting.value == true, "the wait ended without seeing the shutdown")
    }

    @Test func waitingOnADependencyBeatsUntilItAnswers() async throws {
        let heartbeats = Heartbeats()
        let liveness = ActorLiveness(heartbeats: heartbeats, name: "source", tick: .milliseconds(100))
        liveness.register()
        let answer = AsyncCondition()  // stands in for the broker's acknowledgement
        let waiting = Task { await liveness.whileWaiting { () async -> Int in await answer.wait(); return 7 } }
        #expect(try await eventually { heartbeats.beatCount("source") >= 5 }, "waiting for acknowledgements did not beat")
        answer.set()
        #expect(await waiting.value == 7)
        // Once the wait is over, beats come only from the loop again: the ticker is gone.
        try await Task.sleep(for: .milliseconds(300))
        let after = heartbeats.beatCount("source")
        try await Task.sleep(for: .seconds(1))
        #expect(heartbeats.beatCount("source") == after, "the ticker kept beating after the wait ended")
    }

    @Test func waitsAreContinuationsThatCancellationEnds() async throws {
        let condition = AsyncCondition()
        let waiter = Task { await condition.wait() }
        try await Task.sleep(for: .milliseconds(100))
        waiter.cancel()
        await waiter.value  // returns although never set
        #expect(!condition.isSet)
        let shutdown = ShutdownSignal()
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
        // Far longer than the test's time limit: only the drain can end this wait.
        let waiter = Task { await channel.waitUntilNotFull(timeout: .seconds(3600)) }
        var drained = 0
        for await _ in elements {
            drained += 1
            if drained == 3 { break }
        }
        #expect(await waiter.value == true)
        #expect(!channel.isFull)
    }
}
