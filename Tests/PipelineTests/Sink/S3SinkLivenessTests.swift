import Clocks
import Foundation
import Kafka
import Logging
import PipelineConfig
import Support
import Synchronization
import Systemd
import Testing
import TestSupport

@testable import Pipeline

/// The S3 sink and the watchdog supervisor on one test clock: an idle sink keeps the pings going for simulated
/// minutes, a sink retrying an S3 outage too, and a truly stuck handler stops them within `stale_after`.
/// Simulated time only; the real-time waits are deadlines for what must happen, never measurements.
@Suite(.timeLimit(.minutes(3))) struct S3SinkLivenessTests {
    final class Pings: Sendable {
        let count = Atomic<Int>(0)
        var value: Int { count.load(ordering: .relaxed) }
        func record(_ states: [SystemdNotifyState]) {
            if states.contains(.watchdog) { count.add(1, ordering: .relaxed) }
        }
    }

    static func eventually(_ condition: () -> Bool) async throws -> Bool {
        for _ in 0..<3_000 {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }

    struct Rig {
        let clock = TestClock()
        let heartbeats: Heartbeats
        let pings = Pings()
        let logs = LogCapture()
        let supervisor: WatchdogSupervisor

        init(staleAfter: Duration = .seconds(30)) {
            heartbeats = Heartbeats(clock: PipelineClock(clock))
            let pings = pings
            supervisor = WatchdogSupervisor(
                heartbeats: heartbeats, watchdogInterval: .seconds(30), staleAfter: staleAfter,
                status: { "test" }, logger: logs.logger("watchdog"), notify: pings.record)
        }

        func makeSink(store: MemoryStore) -> S3Sink {
            var settings = S3SinkSettings()
            settings.bucket = "b"
            settings.batch = BatchLimits(maxRecords: 1000, maxBytes: 1 << 20, maxAge: .seconds(60))
            return S3Sink(settings: settings, objectStore: store, committer: MemoryCommitter(store: store),
                          deadLetter: MemoryDeadLetters(),
                          context: ActorContext(heartbeats: heartbeats, logger: logs.logger("sink")))
        }

        /// Advances the clock one second at a time for `slots` ping slots (15 s each), waiting after each slot for
        /// its ping; returns false at the first slot without one.
        func pingsKeepComing(slots: Int) async throws -> Bool {
            for _ in 0..<slots {
                let before = pings.value
                for _ in 0..<15 { await clock.advance(by: .seconds(1)) }
                guard try await S3SinkLivenessTests.eventually({ pings.value > before }) else { return false }
            }
            return true
        }
    }

    func lossEvent() -> SinkInput {
        SinkInput(records: KafkaRecordBatch(), epoch: 0, losses: [
            DataLoss(partition: KafkaTopicPartition(topic: "p.pin", partition: 0), from: 0, to: 9, detectedAt: Date(),
                     reason: "test", policy: .record),
        ])
    }

    @Test func fiveIdleMinutesKeepThePingsGoing() async throws {
        let rig = Rig()
        let sink = rig.makeSink(store: MemoryStore())
        let (input, continuation) = AsyncStream<SinkInput>.makeStream()
        let running = Task { try await sink.run(input: input) }
        #expect(try await Self.eventually { rig.heartbeats.names == ["sink"] })
        let supervision = Task { await rig.supervisor.run() }
        #expect(try await Self.eventually { rig.pings.value == 1 })
        // No record ever arrives: the sink's own tick keeps its heartbeat fresh for 5 simulated minutes.
        #expect(try await rig.pingsKeepComing(slots: 20), "pings stopped after \(rig.pings.value)")
        #expect(rig.pings.value == 21)
        #expect(!rig.logs.text.contains("stopped beating"), "\(rig.logs.text)")
        continuation.finish()
        try await running.value
        supervision.cancel()
        await supervision.value
    }

    @Test func aBlockedHandlerStopsThePingsWithinStaleAfter() async throws {
        let rig = Rig(staleAfter: .seconds(20))
        let entered = Atomic<Bool>(false)
        // An object store whose write never returns: the sink's handler is truly stuck (not a skipped beat).
        let store = MemoryStore { _ in
            entered.store(true, ordering: .relaxed)
            await AsyncCondition().wait()  // never set: returns only when cancelled
        }
        let sink = rig.makeSink(store: store)
        let (input, continuation) = AsyncStream<SinkInput>.makeStream()
        let running = Task { try await sink.run(input: input) }
        let supervision = Task { await rig.supervisor.run() }
        #expect(try await Self.eventually { rig.pings.value == 1 })
        continuation.yield(lossEvent())
        #expect(try await Self.eventually { entered.load(ordering: .relaxed) }, "the handler never got stuck")
        // Within stale_after (20 s) plus one check interval (15 s) the hang is seen and named.
        for _ in 0..<35 { await rig.clock.advance(by: .seconds(1)) }
        #expect(try await Self.eventually { rig.logs.text.contains("actor 'sink' stopped beating") })
        let pingsWhenHung = rig.pings.value
        #expect(pingsWhenHung <= 2, "at most the ping at 15 s went out: \(pingsWhenHung)")
        // Five more simulated minutes: not one ping.
        for _ in 0..<300 { await rig.clock.advance(by: .seconds(1)) }
        try await Task.sleep(for: .milliseconds(200))
        #expect(rig.pings.value == pingsWhenHung, "pinged although the handler is stuck")
        continuation.finish()
        running.cancel()
        _ = try? await running.value
        supervision.cancel()
        await supervision.value
    }

    @Test func anS3OutageRetriedForFiveMinutesKeepsThePingsGoing() async throws {
        // stale_after below the longest backoff wait (30 s): only beats inside the waits keep the pings going.
        let rig = Rig(staleAfter: .seconds(10))
        let attempts = Atomic<Int>(0)
        let store = MemoryStore { _ in attempts.add(1, ordering: .relaxed) }
        store.failuresLeft.withLock { $0 = .max }  // S3 is away until the test says otherwise
        let sink = rig.makeSink(store: store)
        let (input, continuation) = AsyncStream<SinkInput>.makeStream()
        let running = Task { try await sink.run(input: input) }
        let supervision = Task { await rig.supervisor.run() }
        #expect(try await Self.eventually { rig.pings.value == 1 })
        continuation.yield(lossEvent())
        #expect(try await Self.eventually { attempts.load(ordering: .relaxed) >= 1 })
        // The handler retries with backoff (up to 30 s between attempts) and beats through every wait.
        #expect(try await rig.pingsKeepComing(slots: 20), "pings stopped after \(rig.pings.value)")
        #expect(attempts.load(ordering: .relaxed) >= 5, "retries: \(attempts.load(ordering: .relaxed))")
        #expect(!rig.logs.text.contains("stopped beating"))
        // S3 is back: the loss record lands at the next attempt.
        store.failuresLeft.withLock { $0 = 0 }
        var stored = false
        for _ in 0..<60 where !stored {
            await rig.clock.advance(by: .seconds(1))
            stored = !store.objects.withLock { $0.isEmpty }
        }
        #expect(try await Self.eventually { !store.objects.withLock { $0.isEmpty } }, "never stored after S3 came back")
        continuation.finish()
        try await running.value
        supervision.cancel()
        await supervision.value
    }

    @Test func anIdlePartitionRollsOnItsAgeOnTheTestClock() async throws {
        let rig = Rig()
        let store = MemoryStore()
        let sink = rig.makeSink(store: store)  // max_age 60 s
        let (input, continuation) = AsyncStream<SinkInput>.makeStream()
        let running = Task { try await sink.run(input: input) }
        continuation.yield(SinkInput(messages: [KafkaMessage(topic: "p.pin", partition: 0, offset: 0, key: nil,
                                                             value: Array("{}".utf8), timestamp: nil, headers: [])],
                                     epoch: 0))
        #expect(try await Self.eventually { rig.heartbeats.beatCount("sink") >= 1 })
        try await Task.sleep(for: .milliseconds(100))
        for _ in 0..<59 { await rig.clock.advance(by: .seconds(1)) }
        try await Task.sleep(for: .milliseconds(200))
        #expect(store.objects.withLock { $0.isEmpty }, "rolled before max_age")
        for _ in 0..<2 { await rig.clock.advance(by: .seconds(1)) }
        #expect(try await Self.eventually { store.objects.withLock { $0.count } == 1 }, "the idle batch never rolled")
        continuation.finish()
        try await running.value
    }
}
