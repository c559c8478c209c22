/// Which fetchers the consumer wakes after a poll (``KafkaConsumer/wakeFetchers(_:)``).
///
/// librdkafka 2.0.2 looks at a full fetch queue again only when the broker's thread wakes up for another reason,
/// up to a second later. Two rules keep the queue from running dry on a cluster of several brokers:
/// - wake while the application still has records to work on: when a poll left fewer than `lowWatermark`
///   messages in the consumer queue (not after a short or empty poll, when the queue is empty already);
/// - wake only the partitions that lag. A wake-up is one ListOffsets request per leader, and the next one waits
///   for its answers; a leader whose partitions are all caught up holds a Fetch open for `fetch.wait.max.ms`
///   (librdkafka's default 500 ms; pinpipe sets 100 ms) and answers the ListOffsets behind it, so asking it too
///   stalled every other broker's fetcher (measured on three brokers at 500 ms: the sink idled up to 0.7 s at a
///   time with its queue empty).
struct FetchWakeupPolicy: Sendable {
    var lowWatermark: Int

    /// The partitions to wake, sorted (none: no wake-up). `lag` is read only when the queue is low.
    func partitionsToWake(queued: Int, lag: () -> [KafkaTopicPartition: Int64]) -> [KafkaTopicPartition] {
        guard queued < lowWatermark else { return [] }
        return lag().filter { $0.value > 0 }.map(\.key).sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
    }
}
