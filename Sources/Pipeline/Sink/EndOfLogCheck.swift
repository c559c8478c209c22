import Kafka

/// Whether a `--once` sink has read everything, from the end-of-partition reports the polls already delivered.
///
/// librdkafka reports a partition's end (`enable.partition.eof`) when a Fetch finds no record past the position:
/// the broker's own word that the log ended there, queued behind every record fetched before it. A partition is
/// therefore read to its end when such a report came after the last record handed to the sink. When every
/// assigned partition is, the consumer may stop without asking the brokers again: on a caught-up leader that
/// ListOffsets request waits behind a Fetch long-polling for `fetch.wait.max.ms` (500 ms measured on three
/// brokers, issue 15), the last half second of every `--once` run.
///
/// Records that arrive after a report (a producer still writing) move the partition past it: then this check says
/// no and the caller asks the brokers.
struct EndOfLogCheck: Sendable {
    /// The consumer's assignment.
    var assignment: [KafkaTopicPartition]
    /// Per partition, the offset after the last record handed to the sink in this run.
    var handedOver: [KafkaTopicPartition: Int64]
    /// Per partition, the offset at which the fetcher last reported the end of the log.
    var reachedEnds: [KafkaTopicPartition: Int64]

    /// True when every assigned partition reported its end at or after the last record handed over (a partition
    /// without records in this run needs only the report: the fetcher reports the end at its position).
    var everyPartitionAtItsEnd: Bool {
        guard !assignment.isEmpty else { return false }
        return assignment.allSatisfy { partition in
            guard let end = reachedEnds[partition] else { return false }
            guard let next = handedOver[partition] else { return true }
            return next <= end
        }
    }
}
