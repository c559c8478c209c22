import Kafka
import Logging
import PipelineConfig
import Synchronization

/// One topic-partition's batches and its single upload chain (upload → commit → next batch).
///
/// Shared between the sink loop (appends), the age ticker and the consumer's rebalance callback (revoke),
/// so its state sits behind a lock; uploads run in one task at a time per partition.
final class PartitionWriter: Sendable {
    let partition: KafkaTopicPartition
    private let state: Mutex<State>
    private let context: SinkContext

    private struct State {
        var batcher: PartitionBatcher
        var uploader: Task<Void, Never>?
        var revoked = false
        /// Bumped at every upload completion, so waiters re-check their condition.
        var changes = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    init(partition: KafkaTopicPartition, context: SinkContext) {
        self.partition = partition
        self.context = context
        self.state = Mutex(State(batcher: PartitionBatcher(limits: context.settings.batch)))
    }

    /// Appends a valid record; waits first while the partition already has a batch waiting behind an upload.
    func append(_ message: KafkaMessage, timePath: String?) async {
        await waitUntil { !$0.batcher.isBlocked || $0.revoked }
        let actions = state.withLock { state -> [PartitionBatcher.Action] in
            guard !state.revoked else { return [] }
            return state.batcher.append(offset: message.offset, value: message.value, timePath: timePath,
                                        now: .now)
        }
        perform(actions)
    }

    /// Records that the record at `offset` went to the dead-letter location.
    func skip(offset: Int64) async {
        await waitUntil { !$0.batcher.isBlocked || $0.revoked }
        let actions = state.withLock { state -> [PartitionBatcher.Action] in
            guard !state.revoked else { return [] }
            return state.batcher.skip(offset: offset, now: .now)
        }
        perform(actions)
    }

    /// Seals the open batch when it is too old (called by the sink's timer).
    func tick(now: ContinuousClock.Instant) {
        perform(state.withLock { $0.revoked ? [] : $0.batcher.tick(now: now) })
    }

    /// Seals everything and waits until every batch is stored and committed (shutdown, end of input).
    func drain() async {
        while true {
            let seen = state.withLock { $0.changes }
            perform(state.withLock { $0.revoked ? [] : $0.batcher.drain() })
            if state.withLock({ $0.revoked || $0.batcher.isIdle }) || context.fatalError != nil { return }
            await waitUntil { $0.changes != seen || $0.revoked }
        }
    }

    /// The partition was taken away: drop what is not uploaded yet and wait for an upload in progress to settle
    /// (it may still commit, which the group allows before the revocation completes).
    func revoke() -> Task<Void, Never>? {
        let (uploader, waiters) = state.withLock { state -> (Task<Void, Never>?, [CheckedContinuation<Void, Never>]) in
            state.revoked = true
            let waiters = state.waiters
            state.waiters = []
            return (state.uploader, waiters)
        }
        waiters.forEach { $0.resume() }
        return uploader
    }

    var isRevoked: Bool { state.withLock { $0.revoked } }

    private func perform(_ actions: [PartitionBatcher.Action]) {
        for case .upload(let batch) in actions {
            let task = Task { await self.uploadChain(first: batch) }
            state.withLock { $0.uploader = task }
        }
    }

    /// Stores and commits batches one after the other until none is waiting.
    private func uploadChain(first: SealedBatch) async {
        var next: SealedBatch? = first
        while let batch = next {
            let stored = await context.store(batch, partition: partition) { self.isRevoked }
            if !stored { break }
            let actions = state.withLock { $0.batcher.uploadFinished() }
            notifyWaiters()
            next = nil
            for case .upload(let following) in actions { next = following }
        }
        notifyWaiters()
    }

    private func notifyWaiters() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
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
