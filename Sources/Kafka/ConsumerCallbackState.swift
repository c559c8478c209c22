import Synchronization

/// The consumer state that the rebalance callback (on the poll thread) and the API share.
final class ConsumerCallbackState: Sendable {
    let onRebalance: (@Sendable (KafkaRebalanceEvent) -> Void)?
    /// Partitions currently assigned to this member, as applied by the rebalance callback.
    let assignment = Mutex<Set<KafkaTopicPartition>>([])
    /// Per partition, the offset of the last end-of-partition the fetcher reported in this assignment.
    let ends = Mutex<[KafkaTopicPartition: Int64]>([:])
    /// Out-of-range positions met by polls, in order, until the application takes them.
    let offsetResets = Mutex<[KafkaOffsetReset]>([])
    /// After `restartFetching` re-assigned the partitions: per partition, the next offset `poll` may return.
    /// Records fetched before the re-assignment may still be queued and are fetched again after it; whatever
    /// lies below this mark was returned already and is dropped. Empty until a restart; cleared by rebalances.
    let nextExpected = Mutex(DuplicateFilter())
    /// Since when this member waits for the group to hand it an assignment (subscribed or revoked, and no
    /// assignment callback since); nil once it has one (possibly empty: more members than partitions).
    let waitingSince = Mutex<ContinuousClock.Instant?>(.now)

    /// Whether revocations wait for ``KafkaConsumer/completeRevocation(_:)`` (see the configuration).
    let deferRevocations: Bool
    /// Deferred revocations the application has not taken yet, in order.
    let revocations = Mutex<[KafkaRevocation]>([])
    /// Partitions revoked but not yet given back: polls drop whatever librdkafka still returns for them.
    let revoking = Mutex<Set<KafkaTopicPartition>>([])
    /// Bumped by each deferred revocation, so a poll knows to stop and hand over what it has.
    let revocationCount = Atomic<Int>(0)
    /// Partitions without a committed offset whose start at the log start failed (the broker went away while the
    /// group's offsets were being read): librdkafka reports such a partition once and then leaves it stopped, so
    /// the polls retry it until it starts or leaves this member.
    let pendingStarts = Mutex<PendingStarts>(PendingStarts())

    struct PendingStarts {
        var partitions: Set<KafkaTopicPartition> = []
        var failures = 0
        var nextAttempt: ContinuousClock.Instant = .now
    }

    /// Set by `close()`: its revocation is applied at once (nobody polls for it any more).
    let closing = Atomic<Bool>(false)

    init(onRebalance: (@Sendable (KafkaRebalanceEvent) -> Void)?, deferRevocations: Bool = false) {
        self.onRebalance = onRebalance
        self.deferRevocations = deferRevocations
    }

    /// Partitions left this member: what the fetcher said about them no longer applies (the next owner meets
    /// the same out-of-range position itself).
    func forget(_ partitions: [KafkaTopicPartition]?) {
        guard let partitions else {
            pendingStarts.withLock { $0 = PendingStarts() }
            ends.withLock { $0.removeAll() }
            offsetResets.withLock { $0.removeAll() }
            nextExpected.withLock { $0.remove(nil) }
            return
        }
        let gone = Set(partitions)
        pendingStarts.withLock { $0.partitions.subtract(gone) }
        nextExpected.withLock { $0.remove(gone) }
        ends.withLock { ends in for partition in gone { ends[partition] = nil } }
        offsetResets.withLock { $0.removeAll { gone.contains($0.partition) } }
    }

    var sortedAssignment: [KafkaTopicPartition] {
        assignment.withLock { $0 }.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
    }
}
