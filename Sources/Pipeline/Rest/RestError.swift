import NIOHTTP1

/// A refused request in the Kafka REST Proxy's error envelope: `{"error_code":40401,"message":"Topic not found."}`.
///
/// The HTTP status is the first three digits of the code (40401 -> 404), as in the proxy. Every refusal happens
/// before anything is produced: a request is either refused whole or produced whole (per-record failures after
/// that are reported in the reply's `offsets`, see ``RestProduceResponse``).
public struct RestError: Error, Sendable, Equatable, CustomStringConvertible {
    public var errorCode: Int
    public var message: String

    public init(_ errorCode: Int, _ message: String) {
        self.errorCode = errorCode
        self.message = message
    }

    public var status: HTTPResponseStatus {
        var code = errorCode
        while code >= 1000 { code /= 10 }
        return HTTPResponseStatus(statusCode: code)
    }

    public var description: String { "\(errorCode): \(message)" }

    /// `{"error_code":N,"message":"..."}`.
    public var json: String {
        var out = "{\"error_code\":\(errorCode),\"message\":"
        RestJSONWriter.appendString(message, to: &out)
        return out + "}"
    }

    // The proxy's codes (kafka-rest `Errors`), and the generic ones its HTTP layer uses.
    static let badRequest = 400
    static let unauthorized = 40101
    static let forbiddenTopic = 40301
    static let topicNotFound = 40401
    static let partitionNotFound = 40402
    static let notAcceptable = 406
    static let tooLarge = 413
    static let unsupportedMediaType = 415
    static let unprocessable = 422
    static let recordTooLarge = 42201
    static let invalidPartition = 42202
    static let kafkaError = 50002
    static let kafkaRetriable = 50003

    static func topicMissing() -> RestError { RestError(topicNotFound, "Topic not found.") }
    static func partitionMissing() -> RestError { RestError(partitionNotFound, "Partition not found.") }
}
