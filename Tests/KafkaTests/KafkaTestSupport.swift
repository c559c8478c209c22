import Foundation
import Kafka
import Logging
import Synchronization

/// Helpers shared by the Kafka tests: names, payloads and polling loops. Everything runs against an in-process
/// `KafkaMockCluster`, so no external service is needed.
enum KafkaTestSupport {
    static func uniqueName(_ base: String) -> String {
        "\(base)-\(UInt32.random(in: 0...UInt32.max) & 0xff_ffff)"
    }

    /// librdkafka's mock cluster delays every rebalance after the first join by `session.timeout.ms` − 1 s
    /// (45 s by default), even after a clean LeaveGroup; tests use a short session to keep rebalances quick.
    static let fastGroupProperties = ["session.timeout.ms": "6000", "heartbeat.interval.ms": "500"]

    static let quietLogger: Logger = {
        var logger = Logger(label: "kafka-test")
        logger.logLevel = .error
        return logger
    }()

    static func value(_ index: Int, size: Int = 32) -> [UInt8] {
        var text = Array("record-\(index)-".utf8)
        while text.count < size { text.append(UInt8(ascii: "x")) }
        return text
    }

    static func index(of value: [UInt8]) -> Int? {
        let text = String(decoding: value, as: UTF8.self)
        let parts = text.split(separator: "-")
        guard parts.count >= 2 else { return nil }
        return Int(parts[1])
    }

    /// Produces `range` (value `record-<i>-…`, key `<i>`) and waits for every delivery report.
    static func produceAll(
        _ producer: KafkaProducer, topic: String, _ range: Range<Int>, size: Int = 32
    ) async throws -> [KafkaDeliveryReport] {
        let reports = Shared<[KafkaDeliveryReport]>([])
        let failures = Shared<[KafkaError]>([])
        for index in range {
            try await producer.produce(topic: topic, key: Array("\(index)".utf8), value: value(index, size: size)) {
                switch $0 {
                case .success(let report): reports.withLock { $0.append(report) }
                case .failure(let error): failures.withLock { $0.append(error) }
                }
            }
        }
        try await producer.flush(timeout: .seconds(30))
        if let failure = failures.withLock({ $0.first }) { throw failure }
        return reports.withLock { $0 }
    }

    /// Polls until `count` records arrived or `timeout` passed.
    static func poll(
        _ consumer: KafkaConsumer, count: Int, timeout: Duration = .seconds(30)
    ) async throws -> [KafkaMessage] {
        var messages: [KafkaMessage] = []
        let deadline = ContinuousClock.now + timeout
        while messages.count < count && ContinuousClock.now < deadline {
            messages += try await consumer.poll(timeout: .milliseconds(200))
        }
        return messages
    }

    /// Polls (discarding nothing: records are returned) until the consumer has an assignment.
    static func waitForAssignment(
        _ consumer: KafkaConsumer, timeout: Duration = .seconds(30)
    ) async throws -> [KafkaMessage] {
        var messages: [KafkaMessage] = []
        let deadline = ContinuousClock.now + timeout
        while consumer.assignment().isEmpty && ContinuousClock.now < deadline {
            messages += try await consumer.poll(timeout: .milliseconds(200))
        }
        return messages
    }

    /// The next offsets to commit for these records (last offset + 1 per partition).
    static func nextOffsets(_ messages: [KafkaMessage]) -> [KafkaTopicPartition: Int64] {
        var offsets: [KafkaTopicPartition: Int64] = [:]
        for message in messages {
            offsets[message.topicPartition] = max(offsets[message.topicPartition] ?? 0, message.offset + 1)
        }
        return offsets
    }
}
