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

    public func logStart(_ partition: KafkaTopicPartition) async throws -> Int64? {
        try await consumer.watermarks(partition, timeout: .seconds(10)).low
    }
}

/// Dead letters as S3 objects, one per sink batch that had any: `<prefix>/<topic>/partition=<p>/<topic>+<p>+<start>.json`
/// (the start offset of the data object they were cut from). JSON Lines, one object per record: its offset,
/// timestamp, key, the reason, and the value as text when it is UTF-8 (`value`) and always as base64
/// (`value_base64`), since a bad record may hold any bytes.
public struct S3DeadLetterWriter: DeadLetterWriter {
    public let client: S3Client
    public let bucket: String
    public let prefix: String

    public init(client: S3Client, bucket: String, prefix: String) {
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
    }

    public func write(_ batch: DeadLetterBatch) async throws {
        let key = ObjectKey(topic: batch.partition.topic, partition: batch.partition.partition,
                            startOffset: batch.startOffset).key(prefix: prefix)
        var body = ByteBuffer()
        for letter in batch.letters { body.writeBytes(DeadLetterRecord.jsonLine(letter, partition: batch.partition)) }
        _ = try await client.putObject(
            bucket: bucket, key: key, body: body, contentType: "application/json",
            metadata: DeadLetterRecord.metadata(batch))
    }
}

/// Dead letters to a Kafka topic: each record as it was (key and value), the reason and origin in headers.
public struct KafkaDeadLetterWriter: DeadLetterWriter {
    public let producer: KafkaProducer
    public let topic: String

    public init(producer: KafkaProducer, topic: String) {
        self.producer = producer
        self.topic = topic
    }

    public func write(_ batch: DeadLetterBatch) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for letter in batch.letters {
                let headers = [
                    ("reason", DeadLetterRecord.printable(letter.reason)), ("source-topic", batch.partition.topic),
                    ("source-partition", String(batch.partition.partition)), ("source-offset", String(letter.offset)),
                ].map { KafkaHeader(key: "pinpipe.\($0.0)", value: Array($0.1.utf8)) }
                let producer = producer
                let topic = topic
                group.addTask { _ = try await producer.send(topic: topic, key: letter.key, value: letter.value, headers: headers) }
            }
            try await group.waitForAll()
        }
    }
}

enum DeadLetterRecord {
    /// S3 metadata must be ASCII: keep the reason printable.
    static func printable(_ text: String) -> String {
        String(text.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 ? Character($0) : "?" })
    }

    static func metadata(_ batch: DeadLetterBatch) -> [String: String] {
        [
            "source-topic": batch.partition.topic,
            "source-partition": String(batch.partition.partition),
            "record-count": String(batch.letters.count),
            "first-offset": String(batch.letters.first?.offset ?? batch.startOffset),
            "last-offset": String(batch.letters.last?.offset ?? batch.startOffset),
            "reason": printable(batch.letters.first?.reason ?? ""),
        ]
    }

    static func jsonLine(_ letter: DeadLetter, partition: KafkaTopicPartition) -> [UInt8] {
        var object: [String: Any] = [
            "topic": partition.topic, "partition": Int(partition.partition), "offset": letter.offset,
            "timestamp": letter.timestamp, "reason": letter.reason,
            "value_base64": Data(letter.value).base64EncodedString(),
        ]
        object["value"] = String(validating: letter.value, as: UTF8.self) ?? NSNull()
        object["key"] = letter.key.map { String(decoding: $0, as: UTF8.self) } ?? NSNull()
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Array(data) + [UInt8(ascii: "\n")]
    }
}
