import CRdKafka
import Logging

/// What one poll produced: records, and an error that ended it early (thrown now or by the next poll).
struct PollBatch: Sendable {
    var messages: [KafkaMessage]
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
        var batch = PollBatch(messages: [])
        let deadline = ContinuousClock.now + timeout
        while batch.messages.count < maxRecords {
            let wait = batch.messages.isEmpty ? (deadline - ContinuousClock.now).librdkafkaMilliseconds : 0
            guard let message = rd_kafka_consumer_poll(rk, wait) else {
                if batch.messages.isEmpty && ContinuousClock.now < deadline { continue }
                break
            }
            defer { rd_kafka_message_destroy(message) }
            let err = message.pointee.err
            if err == RD_KAFKA_RESP_ERR_NO_ERROR {
                batch.messages.append(convert(message))
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

    /// Copies one librdkafka message into a Swift value.
    static func convert(_ message: UnsafeMutablePointer<rd_kafka_message_t>) -> KafkaMessage {
        let m = message.pointee
        let topic = m.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        let value = m.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: m.len)) } ?? []
        let key = m.key.map { Array(UnsafeRawBufferPointer(start: $0, count: m.key_len)) }
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(message, &timestampType)
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
        return KafkaMessage(
            topic: topic, partition: m.partition, offset: m.offset, key: key, value: value,
            timestamp: timestampType == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE || timestamp < 0 ? nil : timestamp,
            headers: headers)
    }
}
