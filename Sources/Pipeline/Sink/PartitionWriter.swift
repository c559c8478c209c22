import Support
import Kafka
import Logging
import PipelineConfig
import Synchronization

/// One topic-partition's batches and its single upload chain (upload → commit → next batch).
///
/// Shared between the sink loop (appends), the age ticker and the consumer's rebalance callback (revoke),
/// so its state sits behind a lock; uploads run in one task at a time per partition. Appending never waits:
/// sealed batches queue behind the upload, and the sink's memory budget bounds what all partitions hold.
final class PartitionWriter: Sendable {
    let partition: KafkaTopicPartition
    private let state: Mutex<State>
    private let context: SinkContext

    private struct State {
        var batcher: PartitionBatcher
        var revoked = false
        /// Bumped at every upload completion, so waiters re-check their condition.
        var changes = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
        /// An upload chain is running (a child task of the sink, see `SinkUploads`).
        var uploading = false
    }

    init(partition: KafkaTopicPartition, context: SinkContext) {
        self.partition = partition
        self.context = context
        self.state = Mutex(State(batcher: PartitionBatcher(limits: context.settings.batch)))
    }

    /// Adds records `range` of `batch` (one partition's, in offset order) under one lock. Records whose index is
    /// in `deadLetters` are not valid JSON: the batch carries them to the dead-letter location, and their offsets
    /// stay inside its range. `timePaths` (extension) holds each record's path segment, in range order.
    func append(_ batch: KafkaRecordBatch, _ range: Range<Int>, deadLetters: [Int: DeadLetter], timePaths: [String]?,
                now: PipelineClock.Instant) {
        let repeatedBefore = state.withLock { $0.batcher.repeatedOffsets }
        defer {
            let repeated = state.withLock { $0.batcher.repeatedOffsets } - repeatedBefore
            if repeated > 0 {
                context.logger.warning("Dropped records delivered twice by the consumer (their offsets are in the batch already)",
                                       metadata: [LogKey.topic: "\(partition.topic)", LogKey.partition: "\(partition.partition)",
                                                  LogKey.records: "\(repeated)"])
            }
        }
        perform(mutate { batcher in
            var actions: [PartitionBatcher.Action] = []
            for index in range {
                let offset = batch.records[index].offset
                if !deadLetters.isEmpty, let letter = deadLetters[index] {
                    actions += batcher.deadLetter(letter, now: now)
                    continue
                }
                let path = timePaths?[index - range.lowerBound]
                actions += batch.withValue(at: index) { batcher.append(offset: offset, value: $0, timePath: path, now: now) }
            }
            return actions
        })
    }

    /// Seals the open batch when it is too old (called by the sink's timer).
    func tick(now: PipelineClock.Instant) {
        perform(mutate { $0.tick(now: now) })
    }

    /// Seals the open batch now, to bring the sink back under its memory limit.
    func sealForMemory() {
        perform(mutate { $0.sealForMemory() })
    }

    /// After a recorded loss: the next batch covers from `offset` (call after ``drain()``).
    func resumeCoverage(at offset: Int64) {
        state.withLock { state in
            guard !state.revoked, state.batcher.open == nil else { return }
            state.batcher.resumeCoverage(at: offset)
        }
    }

    /// Body bytes of the open batch.
    var openBytes: Int { state.withLock { $0.batcher.openBytes } }

    /// Batches opened in the body of an earlier one (see `PartitionBatcher.spare`).
    var bodiesReused: Int { state.withLock { $0.batcher.sparesReused } }

    /// Seals everything and waits until every batch is stored and committed (shutdown, end of input).
    func drain() async {
        while true {
            let seen = state.withLock { $0.changes }
            perform(mutate { $0.drain() })
            if state.withLock({ $0.revoked || $0.batcher.isIdle }) || context.fatalError != nil { return }
            await waitUntil { $0.changes != seen || $0.revoked }
        }
    }

    /// The partition was taken away: drop what is not uploaded yet. Returns, when an upload is in progress, a
    /// wait for it to settle (it may still commit, which the group allows before the revocation completes).
    func revoke() -> (@Sendable () async -> Void)? {
        let (uploading, waiters, open, sealed, spare) = state.withLock { state in
            state.revoked = true
            let waiters = state.waiters
            state.waiters = []
            let open = state.batcher.openBytes
            let sealed = state.batcher.sealedBytes
            let spare = state.batcher.spareBytes
            _ = state.batcher.abandon()
            return (state.uploading, waiters, open, sealed, spare)
        }
        context.budget.adjust(open: -open, sealed: -sealed, spare: -spare)
        waiters.forEach { $0.resume() }
        guard uploading else { return nil }
        return { await self.waitUntil { !$0.uploading } }
    }

    var isRevoked: Bool { state.withLock { $0.revoked } }

    /// Applies `change` to the batcher (unless revoked) and reports the change of held bytes to the budget.
    private func mutate(_ change: (inout PartitionBatcher) -> [PartitionBatcher.Action]) -> [PartitionBatcher.Action] {
        let (actions, open, sealed, spare) = state.withLock { state -> ([PartitionBatcher.Action], Int, Int, Int) in
            guard !state.revoked else { return ([], 0, 0, 0) }
            let (open, sealed, spare) = (state.batcher.openBytes, state.batcher.sealedBytes, state.batcher.spareBytes)
            let actions = change(&state.batcher)
            return (actions, state.batcher.openBytes - open, state.batcher.sealedBytes - sealed,
                    state.batcher.spareBytes - spare)
        }
        context.budget.adjust(open: open, sealed: sealed, spare: spare)
        return actions
    }

    /// Lets the spare body go, for the memory it holds.
    func dropSpare() {
        _ = mutate { batcher in
            batcher.dropSpare()
            return []
        }
    }

    private func perform(_ actions: [PartitionBatcher.Action]) {
        for case .upload(let batch) in actions {
            state.withLock { $0.uploading = true }
            // Handed over, not captured: a closure holding the batch would keep its body alive after the upload.
            let first = Mutex<SealedBatch?>(batch)
            if !context.uploadChains.start({ await self.uploadChain(first: first.withLock { $0.take()! }) }) {
                // The sink has finished: nothing will upload this batch (its records are re-read from the commit).
                notifyWaiters(uploadEnded: true)
            }
        }
    }

    /// Stores and commits batches one after the other until none is queued.
    private func uploadChain(first: consuming SealedBatch) async {
        var next: SealedBatch? = consume first
        while next != nil {
            let stored = await context.store(next!, partition: partition) { self.isRevoked }
            // Let go of the body before the budget counts its bytes free: held longer, it stayed allocated while
            // the sink already filled new batches in their place (peak RSS 7 MB above what the budget allowed),
            // and the batcher could not keep it for the next batch.
            next = nil
            if !stored { break }
            // The stored body stays as the next batch's storage when the budget has room for it.
            let actions = mutate { batcher in
                let keep = context.budget.hasRoom(for: batcher.inFlight?.body.readableBytes ?? 0)
                return batcher.uploadFinished(keepingBody: keep).actions
            }
            notifyWaiters()
            for case .upload(let following) in actions { next = following }
        }
        notifyWaiters(uploadEnded: true)
    }

    private func notifyWaiters(uploadEnded: Bool = false) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            if uploadEnded { state.uploading = false }
            state.changes += 1
            let waiters = state.waiters
            state.waiters = []
            return waiters
        }
        waiters.forEach { $0.resume() }
    }

    /// Suspends until `condition` holds, re-checked after every upload completion or revocation.
    private func waitUntil(_ condition: @escaping @Sendable (borrowing State) -> Bool) async {
        while true {
            let satisfied = state.withLock { condition($0) }
            if satisfied { return }
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if condition(state) { return true }
                    state.waiters.append(continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }
}
