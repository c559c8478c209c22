import Synchronization

/// The consumer state that the rebalance callback (on the poll thread) and the API share.
final class ConsumerCallbackState: Sendable {
    let onRebalance: (@Sendable (KafkaRebalanceEvent) -> Void)?
    /// Partitions currently assigned to this member, as applied by the rebalance callback.
    let assignment = Mutex<Set<KafkaTopicPartition>>([])

    init(onRebalance: (@Sendable (KafkaRebalanceEvent) -> Void)?) {
        self.onRebalance = onRebalance
    }

    var sortedAssignment: [KafkaTopicPartition] {
        assignment.withLock { $0 }.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
    }
}
