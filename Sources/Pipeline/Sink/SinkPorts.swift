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
}

/// Where records that are not valid JSON go.
public protocol DeadLetterWriter: Sendable {
    func write(_ message: KafkaMessage, reason: String) async throws
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
