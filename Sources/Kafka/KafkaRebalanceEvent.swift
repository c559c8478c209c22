/// A consumer-group assignment change, delivered before librdkafka applies it.
public enum KafkaRebalanceEvent: Sendable, Hashable {
    case assigned([KafkaTopicPartition])
    case revoked([KafkaTopicPartition])
}

/// Partitions the group takes away from this member, handed to the application in order with the records (see
/// ``KafkaConsumerConfiguration/deferRevocations``). librdkafka gives them back to the group only when the
/// application calls ``KafkaConsumer/completeRevocation(_:)``; until then the member stays in the group
/// (heartbeats go on) and nothing more is fetched for them.
public struct KafkaRevocation: Sendable, Hashable {
    public let partitions: [KafkaTopicPartition]
    /// The group already gave them to another member (the session was lost): nothing may be committed for them.
    public let lost: Bool
    let cooperative: Bool

    public init(partitions: [KafkaTopicPartition], lost: Bool, cooperative: Bool = false) {
        self.partitions = partitions
        self.lost = lost
        self.cooperative = cooperative
    }
}
