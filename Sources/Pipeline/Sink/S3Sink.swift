import AsyncAlgorithms
import Kafka
import Logging
import NIOCore
import PipelineConfig
import Synchronization
import Systemd
import Support

/// Records handed from the topic consumer to the sink, stamped with the consumer's assignment epoch.
public struct SinkInput: Sendable {
    public var records: KafkaRecordBatch
    public var epoch: UInt64
    /// Lost offsets the consumer met after these records (handled after them, in order).
    public var losses: [DataLoss]
    /// Partitions the group takes away, after every record of them (handled last).
    public var revocation: SinkRevocation?

    public init(records: KafkaRecordBatch, epoch: UInt64, losses: [DataLoss] = [],
                revocation: SinkRevocation? = nil) {
        self.records = records
        self.epoch = epoch
        self.losses = losses
        self.revocation = revocation
    }

    public init(messages: [KafkaMessage], epoch: UInt64) {
        self.init(records: KafkaRecordBatch(messages), epoch: epoch)
    }
}

/// A revocation travelling from the topic consumer to the sink, in order with the records. The sink drops the
/// partitions' unstored batches, lets an upload in progress finish (and commit: the group accepts commits until
/// the member rejoins), and then settles it; only then does the consumer give the partitions back to the group,
/// so their next owner starts from the last commit, never while an object of this member is still on its way.
public final class SinkRevocation: Sendable {
    public let kafka: KafkaRevocation
    private let settled = Atomic<Bool>(false)

    public init(_ kafka: KafkaRevocation) { self.kafka = kafka }

    public var partitions: [KafkaTopicPartition] { kafka.partitions }
    public var isSettled: Bool { settled.load(ordering: .acquiring) }
    func settle() { settled.store(true, ordering: .releasing) }
}

/// The S3 sink actor: turns records into per-partition JSON Lines batches and stores them, committing each
/// partition's offsets right after its object is stored.
public final class S3Sink: Sendable {
    private let context: SinkContext
    private let liveness: ActorLiveness
    private let timePath: TimePathFormatter?
    private let writers = Mutex<[KafkaTopicPartition: PartitionWriter]>([:])
    /// The epoch at which each partition was last revoked; older records of it are stale.
    private let revokedAt = Mutex<[KafkaTopicPartition: UInt64]>([:])
    /// How long the sink loop waited for uploads to free memory.
    private let memoryWait = Mutex<Duration>(.zero)
    static let actorName = "sink"

    /// A fatal error (403, a missing bucket, …) triggers `context.shutdown`: the pipeline drains and exits non-zero.
    public init(settings: S3SinkSettings, objectStore: any SinkObjectStore, committer: any SinkOffsetCommitter,
                deadLetter: any DeadLetterWriter, context: ActorContext) {
        let shutdown = context.shutdown
        self.context = SinkContext(settings: settings, objectStore: objectStore, committer: committer,
                                   deadLetter: deadLetter, stats: context.stats, logger: context.logger,
                                   hooks: context.hooks, clock: context.clock, onFatal: { shutdown.trigger() })
        self.liveness = ActorLiveness(heartbeats: context.heartbeats, name: Self.actorName)
        self.timePath = settings.timePartitioning.flatMap(TimePathFormatter.init(pattern:))
    }

    /// The most bytes the batches held at once.
    public var memoryPeak: Int { context.budget.peak }

    /// Batches that were written into the storage of a stored one instead of fresh memory.
    public var bodiesReused: Int { writers.withLock { $0.values.reduce(0) { $0 + $1.bodiesReused } } }

    /// The first error that stopped the sink for good (403, missing bucket, …).
    public var fatalError: (any Error)? { context.fatalError }

    /// One turn of the sink's loop: records from the consumer, the loop's own tick, or the end of the input.
    enum Turn: Sendable {
        case input(SinkInput)
        case tick
        case end
    }

    /// How often the sink's loop turns without input: it checks batch ages (an idle partition still rolls on
    /// time) and beats. At most 250 ms, and a quarter of `max_age` for shorter ages.
    var tickInterval: Duration { min(context.settings.batch.maxAge / 4, .milliseconds(250)) }

    /// Consumes `input` until it ends, then stores and commits every open batch. Throws the fatal error, if any.
    ///
    /// - Important: The loop turns on its own tick as well as on input, and beats on every turn: an idle sink is a
    ///   healthy one, and only a handler that is stuck stops the beats (and so the watchdog pings).
    public func run<Input: AsyncSequence & Sendable>(input: Input) async throws where Input.Element == SinkInput {
        liveness.register()
        defer { liveness.unregister() }
        let started = ContinuousClock.now
        var (inputWait, handling, drain) = (Duration.zero, Duration.zero, Duration.zero)
        let records = chain(input.map { Turn.input($0) }, [Turn.end].async)
        let ticks = AsyncTimerSequence(interval: tickInterval, clock: liveness.clock).map { _ in Turn.tick }
        // Child tasks run the upload chains and settle revocations (waiting for uploads in progress) while the
        // loop goes on turning; the last drain happens inside the group, so no upload outlives the sink.
        try await withThrowingDiscardingTaskGroup { revocations in
            revocations.addTask { await self.context.uploadChains.run() }
            defer { context.uploadChains.finish() }
            var turnEnded = ContinuousClock.now
            turns: for try await turn in merge(records, ticks) {
                let turnStarted = ContinuousClock.now
                defer { turnEnded = ContinuousClock.now }
                if case .input = turn { inputWait += turnStarted - turnEnded }
                liveness.beat()
                await context.hooks.hangIfRequested(actor: Self.actorName, startedAt: started)
                if context.fatalError != nil { break }
                switch turn {
                case .input(var element):
                    try await handle(element)
                    handling += ContinuousClock.now - turnStarted
                    if let revocation = element.revocation {
                        let uploads = revoke(revocation.partitions, epoch: element.epoch)
                        revocations.addTask { await self.settle(revocation, after: uploads) }
                    }
                    // The values are in the object bodies now: the next poll reuses the buffer.
                    element.records.recycle()
                case .tick:
                    let now = liveness.clock.now
                    for writer in writers.withLock({ Array($0.values) }) { writer.tick(now: now) }
                case .end:
                    break turns
                }
            }
            let drainStarted = ContinuousClock.now
            await drainAll()
            drain = ContinuousClock.now - drainStarted
        }
        // Where the loop's time went (issue 15): waiting for the consumer's next input (the fetch side starved
        // it), handling input (encoding, and the memory wait: uploads could not keep up), the final drain.
        context.logger.info("Sink finished", metadata: [
            "sink.input_wait_seconds": "\(inputWait)", "sink.handle_seconds": "\(handling)",
            "sink.drain_seconds": "\(drain)", "memory.bodies_reused": "\(bodiesReused)",
            "memory.peak_bytes": "\(context.budget.peak)", "memory.limit_bytes": "\(context.budget.limit)",
            "memory.wait_seconds": "\(memoryWait.withLock { $0 })",
        ])
        if let fatal = context.fatalError { throw fatal }
    }

    private func handle(_ input: SinkInput) async throws {
        let stale = revokedAt.withLock { $0 }
        let now = liveness.clock.now
        let batch = input.records
        let records = batch.records
        var start = 0
        // Records come in runs of one partition (librdkafka hands over whole fetched message sets): each run goes
        // to its writer under one lock.
        while start < records.count {
            let first = records[start]
            var end = start + 1
            while end < records.count, records[end].partition == first.partition,
                  records[end].topicIndex == first.topicIndex { end += 1 }
            defer { start = end }
            let partition = batch.topicPartition(at: start)
            if let revoked = stale[partition], input.epoch < revoked { continue }
            context.stats.recordConsumed(end - start, topic: partition.topic)
            var deadLetters: [Int: DeadLetter] = [:]
            for index in start..<end {
                if let problem = batch.withValue(at: index, JSONValidator.problem(in:)) {
                    let message = batch[index]
                    deadLetters[index] = DeadLetter(offset: message.offset, key: message.key, value: message.value,
                                                    timestamp: message.timestamp ?? -1, reason: problem)
                }
            }
            let timePaths = timePath.map { formatter in
                (start..<end).map { formatter.format(millisecondsSinceEpoch: max(0, records[$0].timestamp)) }
            }
            writer(for: partition).append(batch, start..<end, deadLetters: deadLetters, timePaths: timePaths, now: now)
        }
        liveness.beat()
        await waitForMemory()
        for loss in input.losses {
            if let revoked = stale[loss.partition], input.epoch < revoked { continue }
            try await record(loss)
        }
    }

    /// Records lost before they were read: the records before them are stored and committed first, then the loss
    /// record goes to S3 beside the data. With `record`, the group's offset then moves past the loss (a restart
    /// does not meet it again) and the next object covers from there; with `stop`, the sink stops the pipeline.
    private func record(_ loss: DataLoss) async throws {
        let writer = writer(for: loss.partition)
        await writer.drain()
        guard context.fatalError == nil, !writer.isRevoked else { return }
        let key = loss.key(s3Prefix: context.settings.prefix)
        try await retrying("loss record \(key)") {
            try await self.context.objectStore.put(
                key: key, body: ByteBuffer(string: loss.json + "\n"), contentEncoding: nil,
                metadata: ["loss-from": String(loss.from), "loss-to": String(loss.to), "loss-count": String(loss.count)])
        }
        context.logger.error("Loss record stored", metadata: [
            LogKey.topic: "\(loss.partition.topic)", LogKey.partition: "\(loss.partition.partition)",
            LogKey.firstOffset: "\(loss.from)", LogKey.lastOffset: "\(loss.to)", LogKey.objectKey: "\(key)",
        ])
        switch loss.policy {
        case .record:
            try await retrying("offset commit after the loss in \(loss.partition)") {
                try await self.context.committer.commit(loss.partition, offset: loss.to + 1)
            }
            writer.resumeCoverage(at: loss.to + 1)
        case .stop:
            context.fail(DataLossError(loss))
        }
    }

    /// Runs `body` until it succeeds or fails for good; outages are retried with backoff, beating meanwhile.
    private func retrying(_ what: String, _ body: () async throws -> Void) async throws {
        var backoff = Backoff(initial: .milliseconds(500), maximum: .seconds(30))
        while true {
            do {
                try await body()
                if backoff.attempt > 0 { context.stats.setOutage(nil) }
                return
            } catch {
                guard SinkFailure.isRetriable(error) else { throw error }
                context.stats.setOutage("\(what): \(error)")
                await liveness.sleep(for: backoff.next())
                try Task.checkCancellation()
            }
        }
    }

    /// While the batches hold more than the memory limit: seal the largest open batch when the sealed ones alone
    /// cannot bring the total back under it, then wait for uploads to release memory.
    private func waitForMemory() async {
        let budget = context.budget
        guard budget.isOverLimit else { return }
        let started = ContinuousClock.now
        defer { memoryWait.withLock { $0 += ContinuousClock.now - started } }
        if budget.usage.spare > 0 {
            // Spare bodies go first: they hold memory, but no records.
            for writer in writers.withLock({ Array($0.values) }) { writer.dropSpare() }
        }
        while budget.isOverLimit, context.fatalError == nil, !Task.isCancelled {
            let seen = budget.generation
            if budget.usage.sealed < budget.limit / 2 {
                let largest = writers.withLock { $0.values.max { $0.openBytes < $1.openBytes } }
                largest?.sealForMemory()
            }
            await budget.waitForRelease(after: seen, timeout: .seconds(1), clock: context.clock)
            liveness.beat()
        }
    }

    private func writer(for partition: KafkaTopicPartition) -> PartitionWriter {
        writers.withLock { writers in
            if let writer = writers[partition], !writer.isRevoked { return writer }
            let writer = PartitionWriter(partition: partition, context: context)
            writers[partition] = writer
            return writer
        }
    }

    /// The group takes `partitions` away (the revocation came after every record of them): records of an
    /// older epoch are stale from now on, unstored batches are abandoned (the next owner re-reads them from the
    /// committed offset). Returns the uploads still in progress, which may finish and commit.
    private func revoke(_ partitions: [KafkaTopicPartition], epoch: UInt64) -> [@Sendable () async -> Void] {
        revokedAt.withLock { revoked in
            for partition in partitions { revoked[partition] = epoch }
        }
        let removed = writers.withLock { writers in partitions.compactMap { writers.removeValue(forKey: $0) } }
        return removed.compactMap { $0.revoke() }
    }

    /// Settles a revocation once its uploads in progress are over, or after `revocationTimeout` (logged: the
    /// upload may still land after the next owner started).
    private func settle(_ revocation: SinkRevocation, after uploads: [@Sendable () async -> Void]) async {
        let timeout = context.settings.revocationTimeout
        let finished = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for upload in uploads { await upload() }
                return true
            }
            group.addTask { [clock = context.clock] in
                try? await clock.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        if !finished {
            context.logger.warning("Revocation went on while an upload was still running", metadata: [
                LogKey.reason: "timeout \(timeout)", "partitions": "\(revocation.partitions.map(\.description))"])
        }
        revocation.settle()
    }

    /// Stores and commits every open batch (end of input or shutdown).
    public func drainAll() async {
        let all = writers.withLock { Array($0.values) }
        await withTaskGroup(of: Void.self) { group in
            for writer in all { group.addTask { await writer.drain() } }
        }
    }
}
