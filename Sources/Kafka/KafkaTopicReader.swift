import CRdKafka
import Logging
import Support

/// Reads a whole topic once, from the beginning of every partition to its end, with a group-less consumer
/// (`assign`: it never joins its group nor commits; librdkafka 2.0.2 refuses `assign` without a `group.id`,
/// so it carries one) — for state topics such as the source's offsets topic.
///
/// - Important: With `readCommitted` (the default) the end is the last stable offset: records of aborted
///   transactions are skipped, and a transaction still open ends the read where it began.
public struct KafkaTopicReader: Sendable {
    public var bootstrapServers: String
    /// librdkafka properties (security settings), applied after the reader's defaults.
    public var properties: [String: String]
    public var readCommitted: Bool
    /// Set: SASL/OAUTHBEARER tokens come from it (`properties` then say `sasl.mechanism=OAUTHBEARER`).
    public var oauthBearer: KafkaOAuthBearerTokenProvider?
    let logger: Logger

    public init(bootstrapServers: String, properties: [String: String] = [:], readCommitted: Bool = true,
                oauthBearer: KafkaOAuthBearerTokenProvider? = nil, logger: Logger) {
        self.bootstrapServers = bootstrapServers
        self.properties = properties
        self.readCommitted = readCommitted
        self.oauthBearer = oauthBearer
        self.logger = logger
    }

    /// What a read found in one partition.
    public struct PartitionEnd: Sendable, Equatable {
        /// The offset of the last record returned, nil when none.
        public var lastRecordOffset: Int64?
        /// The high watermark the fetch responses reported (`rd_kafka_get_watermark_offsets`).
        public var highWatermark: Int64
        /// The consumer's position once the end was reached (`rd_kafka_position`).
        public var position: Int64

        public init(lastRecordOffset: Int64?, highWatermark: Int64, position: Int64) {
            self.lastRecordOffset = lastRecordOffset
            self.highWatermark = highWatermark
            self.position = position
        }
    }

    /// The records of every partition, in offset order per partition, and how each partition ended.
    public struct Contents: Sendable {
        public var records: [KafkaMessage]
        public var partitions: [Int32: PartitionEnd]
    }

    /// Reads `topic` to its end on a thread of its own. A topic that does not exist reads as empty (a consumer
    /// never asks for auto-creation: librdkafka's allow.auto.create.topics is false for consumers).
    public func readAll(topic: String, timeout: Duration) async throws(KafkaError) -> Contents {
        let worker = BlockingExecutor(name: "kafka-read-topic")
        defer { worker.shutdown() }
        let result = await worker.run { () -> Result<Contents, KafkaError> in
            do throws(KafkaError) {
                return .success(try readBlocking(topic: topic, timeout: timeout))
            } catch {
                return .failure(error)
            }
        }
        guard let result else { throw .shutDown("read \(topic)") }
        return try result.get()
    }

    private var librdkafkaProperties: [(String, String)] {
        var list: [(String, String)] = [
            ("bootstrap.servers", bootstrapServers),
            ("client.id", "pinpipe-topic-reader"),
            ("isolation.level", readCommitted ? "read_committed" : "read_uncommitted"),
            ("enable.partition.eof", "true"),
            // A one-shot read to the end: a partition already at its end answers after this wait, not the
            // default 500 ms.
            ("fetch.wait.max.ms", "10"),
            // A one-shot read to the end: a partition already at its end answers after this wait (the default
            // 500 ms would hold every reader, and every start with exactly_once, for half a second).
            ("fetch.wait.max.ms", "10"),
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
            ("group.id", "pinpipe-topic-reader"),
        ]
        // Security settings pass through; the group is the reader's own.
        list += properties.filter { $0.key != "group.id" }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        return list
    }

    private func readBlocking(topic: String, timeout: Duration) throws(KafkaError) -> Contents {
        let deadline = ContinuousClock.now + timeout
        let context = RDKafkaClientContext(logger: logger, bootstrapServers: bootstrapServers, oauthBearer: oauthBearer)
        let rk = try RDKafkaConfiguration.makeClient(type: RD_KAFKA_CONSUMER, properties: librdkafkaProperties,
                                                     context: context)
        defer {
            rd_kafka_consumer_close(rk)
            rd_kafka_destroy(rk)
            withExtendedLifetime(context) {}
        }
        rd_kafka_poll_set_consumer(rk)
        let partitionCount = try partitionCount(rk, topic: topic, deadline: deadline)
        guard partitionCount > 0 else { return Contents(records: [], partitions: [:]) }
        // Empty partitions (low = high watermark) are known to be at their end without a fetch. librdkafka
        // 2.0.2 reports the end of a partition read from offset 0 only on a later fetch (measured: 0.5 s on the
        // mock cluster), and a state topic has mostly empty partitions: one ListOffsets round trip each instead.
        var emptyEnds: [Int32: PartitionEnd] = [:]
        for partition in 0..<Int32(partitionCount) {
            var low: Int64 = -1
            var high: Int64 = -1
            let err = rd_kafka_query_watermark_offsets(rk, topic, partition, &low, &high,
                                                       max(100, (deadline - .now).librdkafkaMilliseconds))
            if err == RD_KAFKA_RESP_ERR_NO_ERROR, high >= 0, high <= low {
                emptyEnds[partition] = PartitionEnd(lastRecordOffset: nil, highWatermark: high, position: high)
            }
        }
        let partitions = (0..<Int32(partitionCount)).filter { emptyEnds[$0] == nil }
            .map { KafkaTopicPartition(topic: topic, partition: $0) }
        guard !partitions.isEmpty else { return Contents(records: [], partitions: emptyEnds) }
        let list = RDKafkaPartitionList.make(
            partitions, offsets: Dictionary(uniqueKeysWithValues: partitions.map { ($0, Int64(RD_KAFKA_OFFSET_BEGINNING)) }))
        let assignErr = rd_kafka_assign(rk, list)
        rd_kafka_topic_partition_list_destroy(list)
        guard assignErr == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(assignErr, handle: rk, context: "cannot assign \(topic)", topic: topic)
        }
        var records: [KafkaMessage] = []
        var lastOffsets: [Int32: Int64] = [:]
        var atEnd = Set(emptyEnds.keys)
        while atEnd.count < partitionCount {
            guard ContinuousClock.now < deadline else {
                let missing = Set(0..<Int32(partitionCount)).subtracting(atEnd).sorted()
                throw KafkaError(code: .timedOut,
                                 message: "reading \(topic) did not reach the end of partition(s) \(missing) within "
                                    + "\(timeout)" + (context.lastError.map { " (last client error: \($0))" } ?? ""),
                                 topic: topic)
            }
            guard let message = rd_kafka_consumer_poll(rk, 100) else { continue }
            defer { rd_kafka_message_destroy(message) }
            let m = message.pointee
            switch m.err {
            case RD_KAFKA_RESP_ERR_NO_ERROR:
                records.append(KafkaMessage(
                    topic: topic, partition: m.partition, offset: m.offset,
                    key: m.key.map { Array(UnsafeRawBufferPointer(start: $0, count: m.key_len)) },
                    value: m.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: m.len)) } ?? [],
                    timestamp: nil, headers: []))
                lastOffsets[m.partition] = m.offset
            case RD_KAFKA_RESP_ERR__PARTITION_EOF:
                atEnd.insert(m.partition)
            default:
                let text = rd_kafka_message_errstr(message).map { String(cString: $0) } ?? ""
                let error = KafkaError(m.err, handle: rk, context: "reading \(topic): \(text)", topic: topic,
                                       partition: m.partition)
                if error.isFatal || !error.isRetriable { throw error }
                logger.debug("topic reader: transient error", metadata: ["kafka.error": "\(error)"])
            }
        }
        return Contents(records: records,
                        partitions: ends(rk, partitions, lastOffsets: lastOffsets).merging(emptyEnds) { read, _ in read })
    }

    /// The partition count from cluster metadata (all topics, so nothing is auto-created); 0 when absent.
    private func partitionCount(_ rk: OpaquePointer, topic: String, deadline: ContinuousClock.Instant)
        throws(KafkaError) -> Int
    {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(rk, 1, nil, &metadata, max(100, (deadline - .now).librdkafkaMilliseconds))
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw KafkaError(err, handle: rk, context: "no broker of \(bootstrapServers) answered a metadata request",
                             topic: topic)
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        for index in 0..<Int(metadata.pointee.topic_cnt) {
            let entry = metadata.pointee.topics[index]
            guard String(cString: entry.topic) == topic else { continue }
            return entry.err == RD_KAFKA_RESP_ERR_NO_ERROR ? Int(entry.partition_cnt) : 0
        }
        return 0
    }

    private func ends(_ rk: OpaquePointer, _ partitions: [KafkaTopicPartition], lastOffsets: [Int32: Int64])
        -> [Int32: PartitionEnd]
    {
        let list = RDKafkaPartitionList.make(partitions)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        _ = rd_kafka_position(rk, list)
        var result: [Int32: PartitionEnd] = [:]
        for element in RDKafkaPartitionList.elements(list) {
            var low: Int64 = -1
            var high: Int64 = -1
            _ = rd_kafka_get_watermark_offsets(rk, element.partition.topic, element.partition.partition, &low, &high)
            result[element.partition.partition] = PartitionEnd(
                lastRecordOffset: lastOffsets[element.partition.partition], highWatermark: high,
                position: element.offset)
        }
        return result
    }
}
