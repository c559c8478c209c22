import Foundation
import Kafka
import NIOCore
import S3

extension S3Error: RetriableError {}
extension KafkaError: RetriableError {}

/// Stores sink objects in an S3 bucket.
public struct S3ObjectStore: SinkObjectStore {
    public let client: S3Client
    public let bucket: String

    public init(client: S3Client, bucket: String) {
        self.client = client
        self.bucket = bucket
    }

    public func put(key: String, body: ByteBuffer, contentEncoding: String?, metadata: [String: String]) async throws {
        _ = try await client.putObject(bucket: bucket, key: key, body: body, contentType: "application/json",
                                       contentEncoding: contentEncoding, metadata: metadata)
    }
}

/// Commits the sink's offsets through the consumer group.
public struct KafkaOffsetCommitter: SinkOffsetCommitter {
    public let consumer: KafkaConsumer

    public init(consumer: KafkaConsumer) { self.consumer = consumer }

    public func commit(_ partition: KafkaTopicPartition, offset: Int64) async throws {
        try await consumer.commit([partition: offset])
    }

    public func committed(_ partition: KafkaTopicPartition) async throws -> Int64? {
        try await consumer.committed([partition], timeout: .seconds(10))[partition]
    }
}

/// Dead letters as S3 objects: `<prefix>/<topic>/partition=<p>/<topic>+<p>+<offset>.json` holding the raw value,
/// with the reason and origin in the object metadata.
public struct S3DeadLetterWriter: DeadLetterWriter {
    public let client: S3Client
    public let bucket: String
    public let prefix: String

    public init(client: S3Client, bucket: String, prefix: String) {
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
    }

    public func write(_ message: KafkaMessage, reason: String) async throws {
        let key = ObjectKey(topic: message.topic, partition: message.partition, startOffset: message.offset)
            .key(prefix: prefix)
        _ = try await client.putObject(
            bucket: bucket, key: key, body: message.value, contentType: "application/octet-stream",
            metadata: DeadLetterRecord.metadata(message, reason: reason))
    }
}

/// Dead letters to a Kafka topic, the reason and origin in headers.
public struct KafkaDeadLetterWriter: DeadLetterWriter {
    public let producer: KafkaProducer
    public let topic: String

    public init(producer: KafkaProducer, topic: String) {
        self.producer = producer
        self.topic = topic
    }

    public func write(_ message: KafkaMessage, reason: String) async throws {
        let headers = DeadLetterRecord.metadata(message, reason: reason).sorted { $0.key < $1.key }
            .map { KafkaHeader(key: "pinpipe.\($0.key)", value: Array($0.value.utf8)) }
        _ = try await producer.send(topic: topic, key: message.key, value: message.value, headers: headers)
    }
}

enum DeadLetterRecord {
    static func metadata(_ message: KafkaMessage, reason: String) -> [String: String] {
        // S3 metadata must be ASCII: keep the reason printable.
        let printable = String(reason.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 ? Character($0) : "?" })
        return [
            "reason": printable,
            "source-topic": message.topic,
            "source-partition": String(message.partition),
            "source-offset": String(message.offset),
        ]
    }
}
