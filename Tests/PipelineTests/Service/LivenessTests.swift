import Foundation
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

    func makeSink(heartbeats: Heartbeats, store: MemoryStore = MemoryStore()) -> S3Sink {
        var settings = S3SinkSettings()
        settings.bucket = "b"
        settings.batch = BatchLimits(maxRecords: 1000, maxBytes: 1 << 20, maxAge: .seconds(60))
        return S3Sink(settings: settings, objectStore: store, committer: MemoryCommitter(store: store),
                      deadLetter: MemoryDeadLetters(),
                      context: ActorContext(heartbeats: heartbeats, logger: Logger(label: "test")))
    }

    /// Lost offsets: the sink's handler stores a loss record (in its own loop, retrying while S3 is away).
    func lossEvent() -> SinkInput {
        SinkInput(records: KafkaRecordBatch(), epoch: 0, losses: [
            DataLoss(partition: KafkaTopicPartition(topic: "p.pin", partition: 0), from: 0, to: 9, detectedAt: Date(),
                     reason: "test", policy: .record),
        ])
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

    @Test func aBlockedSinkHandlerStopsTheBeats() async throws {
        let heartbeats = Heartbeats()
        let entered = Mutex(false)
        // An object store whose write never returns: the sink's handler is truly stuck.
        let store = MemoryStore { _ in
            entered.withLock { $0 = true }
            await AsyncCondition().wait()  // never set: returns only when cancelled
        }
        let sink = makeSink(heartbeats: heartbeats, store: store)
        let (input, continuation) = AsyncStream<SinkInput>.makeStream()
        let running = Task { try await sink.run(input: input) }
        continuation.yield(lossEvent())
        #expect(try await eventually { entered.withLock { $0 } }, "the handler never reached the stuck write")
        let before = heartbeats.beatCount("sink")
        try await Task.sleep(for: .seconds(2))
        #expect(heartbeats.beatCount("sink") == before, "the sink beat although its handler is stuck")
        continuation.finish()
        running.cancel()
        _ = try? await running.value
    }

    @Test func theRetryWaitInsideTheHandlerKeepsBeating() async throws {
        let heartbeats = Heartbeats()
        let beatsAtAttempt = Mutex<[Int]>([])
        // S3 refuses the first two writes of the loss record: the handler retries, beating while it waits.
        let store = MemoryStore { _ in beatsAtAttempt.withLock { $0.append(heartbeats.beatCount("sink")) } }
        store.failuresLeft.withLock { $0 = 2 }
        let sink = makeSink(heartbeats: heartbeats, store: store)
        let (input, continuation) = AsyncStream<SinkInput>.makeStream()
        let running = Task { try await sink.run(input: input) }
        continuation.yield(lossEvent())
        #expect(try await eventually { beatsAtAttempt.withLock { $0.count } == 3 }, "no third attempt")
        let beats = beatsAtAttempt.withLock { $0 }
        // Between attempts the sink's loop cannot turn (it is in the handler), so only the retry wait beats.
        #expect(beats[1] > beats[0] && beats[2] > beats[1], "no beat inside the retry waits: \(beats)")
        continuation.finish()
        try await running.value
    }

    @Test func waitsAreContinuationsThatCancellationEnds() async throws {
        let condition = AsyncCondition()
        let waiter = Task { await condition.wait() }
        try await Task.sleep(for: .milliseconds(100))
        waiter.cancel()
        await waiter.value  // returns although never set
        #expect(!condition.isSet)
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
