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
        let result = await worker.run { RDKafkaQueries.committed(rk, partitions, timeout: timeout) }
        guard let result else { throw .shutDown("committed") }
        return try result.get()
    }

    /// Low and high watermarks of a partition, asked of its leader.
    public func watermarks(_ partition: KafkaTopicPartition, timeout: Duration) async throws(KafkaError)
        -> (low: Int64, high: Int64)
    {
        let rk = handle
        let result = await worker.run { RDKafkaQueries.watermarks(rk, partition, timeout: timeout) }
        guard let result else { throw .shutDown("watermarks") }
        let marks = try result.get()
        return (marks.low, marks.high)
    }

    /// Destroys the client (its threads stop) — required before the inspector is dropped.
    public func close() async {
        let rk = handle
        _ = await worker.run { rd_kafka_destroy(rk.pointer) }
        await worker.stopAndWait()
    }
}
