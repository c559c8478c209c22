import Kafka
import NIOCore

/// Where the sink stores objects (S3 in production, a fake in unit tests).
public protocol SinkObjectStore: Sendable {
    func put(key: String, body: ByteBuffer, contentEncoding: String?, metadata: [String: String]) async throws
}

/// Where the sink commits offsets (the Kafka consumer group in production).
public protocol SinkOffsetCommitter: Sendable {
    /// Commits `offset` (the next offset to read) for the partition.
    func commit(_ partition: KafkaTopicPartition, offset: Int64) async throws
    /// The group's committed offset for the partition (nil when it has none).
    func committed(_ partition: KafkaTopicPartition) async throws -> Int64?
    /// The partition's log start offset (nil when unknown): where a group without a committed offset began.
    func logStart(_ partition: KafkaTopicPartition) async throws -> Int64?
}

extension SinkOffsetCommitter {
    public func logStart(_ partition: KafkaTopicPartition) async throws -> Int64? { nil }
}

/// A record that is not valid JSON, kept whole (its bytes may be anything) with the reason.
public struct DeadLetter: Sendable, Equatable {
    public var offset: Int64
    public var key: [UInt8]?
    public var value: [UInt8]
    /// Milliseconds since the epoch, or -1.
    public var timestamp: Int64
    public var reason: String

    public init(offset: Int64, key: [UInt8]?, value: [UInt8], timestamp: Int64, reason: String) {
        self.offset = offset
        self.key = key
        self.value = value
        self.timestamp = timestamp
        self.reason = reason
    }

    /// The bytes it holds (for the sink's memory budget).
    var byteCount: Int { value.count + (key?.count ?? 0) + reason.utf8.count + 64 }
}

/// The dead letters of one sink batch: stored together, before the batch's object, under the same start offset,
/// so a retried batch rewrites the same dead-letter object (exactly once, like the data).
public struct DeadLetterBatch: Sendable {
    public var partition: KafkaTopicPartition
    /// The start offset of the data batch they belong to (the object key's offset).
    public var startOffset: Int64
    public var letters: [DeadLetter]

    public init(partition: KafkaTopicPartition, startOffset: Int64, letters: [DeadLetter]) {
        self.partition = partition
        self.startOffset = startOffset
        self.letters = letters
    }
}

/// Where records that are not valid JSON go: one write per sink batch.
public protocol DeadLetterWriter: Sendable {
    func write(_ batch: DeadLetterBatch) async throws
}

/// Tells whether a failure of a port can be retried.
enum SinkFailure {
    static func isRetriable(_ error: any Error) -> Bool {
        if let error = error as? RetriableError { return error.isRetriable }
        return true
    }
}

/// Errors that know whether retrying can help (S3Error, KafkaError conform through the pipeline's extensions).
public protocol RetriableError: Error {
    var isRetriable: Bool { get }
}
