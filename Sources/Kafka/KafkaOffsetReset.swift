import CRdKafka

/// The broker no longer holds (or never held) the offset a partition's fetch asked for: librdkafka stopped
/// fetching that partition (`auto.offset.reset=error`) and waits for the application to seek.
///
/// Below the log start offset, retention deleted records before they were read: that is data loss, and the
/// application decides what to do (see `KafkaConsumer.seek(_:to:)`). A group's first read of a partition (no
/// committed offset) is not reported: the consumer starts it at the beginning of the log by itself.
public struct KafkaOffsetReset: Sendable, Equatable, CustomStringConvertible {
    public var partition: KafkaTopicPartition
    /// The position that was out of range (the next offset the group wanted to read).
    public var offset: Int64
    /// librdkafka's explanation, e.g. "fetch failed due to requested offset not available on the broker".
    public var reason: String

    public init(partition: KafkaTopicPartition, offset: Int64, reason: String) {
        self.partition = partition
        self.offset = offset
        self.reason = reason
    }

    public var description: String { "\(partition) at offset \(offset): \(reason)" }

    /// The logical offset "the beginning of the log", for ``KafkaConsumer/seek(_:to:)``.
    public static let beginning = Int64(RD_KAFKA_OFFSET_BEGINNING)
}
