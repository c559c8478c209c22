import CRdKafka
import Logging

/// Reads a consumer group's committed offsets and the partitions' watermarks without joining the group
/// (no subscription, so a running group is not rebalanced). Used by `pinpipe verify`.
public final class KafkaGroupInspector: Sendable {
    private let handle: RDKafkaHandle
    private let context: RDKafkaClientContext
    private let worker = BlockingWorker(name: "pinpipe-kafka-inspector")

    public init(bootstrapServers: String, groupID: String, properties: [String: String] = [:], logger: Logger)
        throws(KafkaError)
    {
        let context = RDKafkaClientContext(logger: logger, bootstrapServers: bootstrapServers)
        var list: [(String, String)] = [
            ("bootstrap.servers", bootstrapServers), ("group.id", groupID), ("enable.auto.commit", "false"),
            ("client.id", "pinpipe-verify"),
        ]
        list += properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        let rk = try RDKafkaConfiguration.makeClient(type: RD_KAFKA_CONSUMER, properties: list, context: context)
        self.handle = RDKafkaHandle(rk)
        self.context = context
    }

    /// The group's committed next offsets; partitions without one are absent.
    public func committed(_ partitions: [KafkaTopicPartition], timeout: Duration) async throws(KafkaError)
        -> [KafkaTopicPartition: Int64]
    {
        let rk = handle
        let result = await worker.run { () -> Result<[KafkaTopicPartition: Int64], KafkaError> in
            let list = RDKafkaPartitionList.make(partitions)
            defer { rd_kafka_topic_partition_list_destroy(list) }
            let err = rd_kafka_committed(rk.pointer, list, timeout.librdkafkaMilliseconds)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                return .failure(KafkaError(err, handle: rk.pointer, context: "cannot read committed offsets"))
            }
            var offsets: [KafkaTopicPartition: Int64] = [:]
            for element in RDKafkaPartitionList.elements(list) where element.offset >= 0 {
                offsets[element.partition] = element.offset
            }
            return .success(offsets)
        }
        guard let result else { throw .shutDown("committed") }
        return try result.get()
    }

    /// Low and high watermarks of a partition, asked of its leader.
    public func watermarks(_ partition: KafkaTopicPartition, timeout: Duration) async throws(KafkaError)
        -> (low: Int64, high: Int64)
    {
        let rk = handle
        let result = await worker.run { () -> Result<[Int64], KafkaError> in
            var low: Int64 = -1
            var high: Int64 = -1
            let err = rd_kafka_query_watermark_offsets(
                rk.pointer, partition.topic, partition.partition, &low, &high, timeout.librdkafkaMilliseconds)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                return .failure(KafkaError(err, handle: rk.pointer, context: "cannot query watermarks",
                                           topic: partition.topic, partition: partition.partition))
            }
            return .success([low, high])
        }
        guard let result else { throw .shutDown("watermarks") }
        let marks = try result.get()
        return (marks[0], marks[1])
    }

    /// Destroys the client (its threads stop) — required before the inspector is dropped.
    public func close() async {
        let rk = handle
        _ = await worker.run { rd_kafka_destroy(rk.pointer) }
        await worker.stopAndWait()
    }
}
