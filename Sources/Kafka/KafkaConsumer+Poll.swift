import CRdKafka
import Logging

/// What one poll produced: records, and an error that ended it early (thrown now or by the next poll).
struct PollBatch: Sendable {
    var records: KafkaRecordBatch
    var error: KafkaError?
}

extension KafkaConsumer {
    /// Codes that stop consumption until someone fixes the configuration or the ACLs: thrown, not logged.
    static let terminalCodes: Set<KafkaError.Code> = [
        .init(rawValue: RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED.rawValue),
        .init(rawValue: RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED.rawValue),
        .init(rawValue: RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED.rawValue),
        .init(rawValue: RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED.rawValue),
        .init(rawValue: RD_KAFKA_RESP_ERR__AUTHENTICATION.rawValue),
        .init(rawValue: RD_KAFKA_RESP_ERR__SSL.rawValue),
    ]

    /// Runs on the poll thread: waits up to `timeout` for the first record, then takes what is already there.
    static func pollBatch(_ rk: OpaquePointer, timeout: Duration, maxRecords: Int, logger: Logger) -> PollBatch {
        var batch = PollBatch(records: KafkaRecordBatch())
        var topicCache = TopicIndexCache()
        let deadline = ContinuousClock.now + timeout
        while batch.records.count < maxRecords {
            let wait = batch.records.isEmpty ? (deadline - ContinuousClock.now).librdkafkaMilliseconds : 0
            guard let message = rd_kafka_consumer_poll(rk, wait) else {
                if batch.records.isEmpty && ContinuousClock.now < deadline { continue }
                break
            }
            defer { rd_kafka_message_destroy(message) }
            let err = message.pointee.err
            if err == RD_KAFKA_RESP_ERR_NO_ERROR {
                if batch.records.isEmpty {
                    // One record's size times the batch size: the byte buffer rarely has to grow.
                    batch.records.reserveCapacity(
                        records: maxRecords, bytes: min(maxRecords * (message.pointee.len + message.pointee.key_len + 16), 8 << 20))
                }
                append(message, to: &batch.records, topics: &topicCache)
                continue
            }
            if err == RD_KAFKA_RESP_ERR__PARTITION_EOF { continue }
            let topic = message.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) }
            let text = rd_kafka_message_errstr(message).map { String(cString: $0) } ?? ""
            var error = KafkaError(
                err, handle: rk, context: "consumer error \(text)", topic: topic,
                partition: topic == nil ? nil : message.pointee.partition)
            if !error.isFatal, let fatal = KafkaError.fatal(of: rk) { error = fatal }
            if error.isFatal || terminalCodes.contains(error.code) {
                error.isRetriable = false
                batch.error = error
                break
            }
            logger.info("Kafka consumer: transient error", metadata: ["kafka.error": "\(error)"])
        }
        return batch
    }

    /// Remembers the batch's topic index of each librdkafka topic handle, so names are read once per poll.
    struct TopicIndexCache {
        var handle: OpaquePointer?
        var index: Int32 = 0
    }

    /// Copies one librdkafka message into the batch.
    static func append(_ message: UnsafeMutablePointer<rd_kafka_message_t>, to batch: inout KafkaRecordBatch,
                       topics cache: inout TopicIndexCache) {
        let m = message.pointee
        if cache.handle == nil || cache.handle != m.rkt {
            cache.handle = m.rkt
            cache.index = batch.topicIndex(of: m.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? "")
        }
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(message, &timestampType)
        let headers = readHeaders(message)
        let value = UnsafeRawBufferPointer(start: m.payload, count: m.payload == nil ? 0 : m.len)
        let key = m.key.map { UnsafeRawBufferPointer(start: $0, count: m.key_len) }
        batch.append(topicIndex: cache.index, partition: m.partition, offset: m.offset, key: key, value: value,
                     timestamp: timestampType == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE || timestamp < 0 ? -1 : timestamp,
                     headers: headers)
    }

    static func readHeaders(_ message: UnsafeMutablePointer<rd_kafka_message_t>) -> [KafkaHeader] {
        var headers: [KafkaHeader] = []
        var list: OpaquePointer?
        if rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list {
            var index = 0
            var name: UnsafePointer<CChar>?
            var bytes: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(list, index, &name, &bytes, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                headers.append(
                    KafkaHeader(
                        key: name.map { String(cString: $0) } ?? "",
                        value: bytes.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []))
                index += 1
            }
        }
        return headers
    }
}
