import CRdKafka
import Logging
import Support
import Synchronization

/// Reads a consumer group's committed offsets and the partitions' watermarks without joining the group
/// (no subscription, so a running group is not rebalanced). Used by `pinpipe verify`.
public final class KafkaGroupInspector: Sendable {
    private let handle: RDKafkaHandle
    private let context: RDKafkaClientContext
    private let worker = BlockingExecutor(name: "kafka-inspect")
    private let closed = Atomic<Bool>(false)

    public init(bootstrapServers: String, groupID: String, properties: [String: String] = [:],
                oauthBearer: KafkaOAuthBearerTokenProvider? = nil, logger: Logger) throws(KafkaError)
    {
        let context = RDKafkaClientContext(logger: logger, bootstrapServers: bootstrapServers, oauthBearer: oauthBearer)
        var list: [(String, String)] = [
            ("bootstrap.servers", bootstrapServers), ("group.id", groupID), ("enable.auto.commit", "false"),
            ("client.id", "pinpipe-verify"),
            // `countRecords` reads like the sink: committed transactions only, the end reported, never a silent jump.
            ("isolation.level", "read_committed"), ("enable.partition.eof", "true"), ("auto.offset.reset", "error"),
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

    /// Counts the records a read_committed reader gets from offset `from` up to (not including) `end`: offsets
    /// in between that hold transaction markers or aborted records are not counted. Reads without joining the
    /// group (a plain assignment) and commits nothing.
    public func countRecords(_ partition: KafkaTopicPartition, from: Int64, below end: Int64, timeout: Duration)
        async throws(KafkaError) -> Int64
    {
        guard from < end else { return 0 }
        let rk = handle
        let result = await worker.run { () -> Result<Int64, KafkaError> in
            let list = RDKafkaPartitionList.make([partition], offsets: [partition: from])
            defer { rd_kafka_topic_partition_list_destroy(list) }
            let err = rd_kafka_assign(rk.pointer, list)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                return .failure(KafkaError(err, handle: rk.pointer, context: "cannot read \(partition)"))
            }
            defer { _ = rd_kafka_assign(rk.pointer, nil) }
            var count: Int64 = 0
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                guard let message = rd_kafka_consumer_poll(rk.pointer, 200) else { continue }
                defer { rd_kafka_message_destroy(message) }
                let m = message.pointee
                switch m.err {
                case RD_KAFKA_RESP_ERR_NO_ERROR:
                    if m.offset >= end { return .success(count) }
                    count += 1
                    if m.offset == end - 1 { return .success(count) }
                case RD_KAFKA_RESP_ERR__PARTITION_EOF:
                    return .success(count)
                case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
                    return .failure(KafkaError(m.err, handle: rk.pointer,
                                               context: "offset \(from) of \(partition) is no longer in the log"))
                default:
                    continue  // transient (a broker reconnecting): the deadline bounds it
                }
            }
            return .failure(KafkaError(code: .timedOut, message: "reading \(partition) from \(from) took longer than \(timeout)",
                                       isRetriable: true))
        }
        guard let result else { throw .shutDown("countRecords") }
        return try result.get()
    }

    /// Destroys a client nobody closed (no job is in flight: each would hold `self`).
    deinit {
        guard !closed.exchange(true, ordering: .sequentiallyConsistent) else { return }
        rd_kafka_destroy(handle.pointer)
    }

    /// Destroys the client (its threads stop). Dropping the inspector without it destroys the client too.
    public func close() async {
        guard !closed.exchange(true, ordering: .sequentiallyConsistent) else { return }
        let rk = handle
        _ = await worker.run { rd_kafka_destroy(rk.pointer) }
        await worker.shutdownAndWait()
    }
}
