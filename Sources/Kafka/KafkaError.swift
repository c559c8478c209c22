import CRdKafka

/// Every failure of the Kafka bridge: a librdkafka error code (or one of pinpipe's own), what it concerned,
/// and whether trying again can help.
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    /// A librdkafka `rd_kafka_resp_err_t` value, or one of the bridge's own codes (below -10000).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public var rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }
        init(_ err: rd_kafka_resp_err_t) { self.rawValue = err.rawValue }

        /// True for codes that librdkafka defines (as opposed to the bridge's own).
        public var isLibraryCode: Bool { rawValue > Self.ownCodeBase }

        /// librdkafka's symbolic name (`_ALL_BROKERS_DOWN`, `NOT_LEADER_FOR_PARTITION`, …) or the bridge's.
        public var name: String {
            switch self {
            case .invalidConfiguration: return "INVALID_CONFIGURATION"
            case .unknownProperty: return "UNKNOWN_PROPERTY"
            case .clientCreation: return "CLIENT_CREATION"
            case .libraryTooOld: return "LIBRARY_TOO_OLD"
            case .shutDown: return "SHUT_DOWN"
            case .missingTopics: return "MISSING_TOPICS"
            case .mockCluster: return "MOCK_CLUSTER"
            default: return String(cString: rd_kafka_err2name(rd_kafka_resp_err_t(rawValue: rawValue)))
            }
        }

        public var description: String { name }

        static let ownCodeBase: Int32 = -10_000
        public static let invalidConfiguration = Code(rawValue: ownCodeBase - 1)
        public static let unknownProperty = Code(rawValue: ownCodeBase - 2)
        public static let clientCreation = Code(rawValue: ownCodeBase - 3)
        public static let libraryTooOld = Code(rawValue: ownCodeBase - 4)
        public static let shutDown = Code(rawValue: ownCodeBase - 5)
        public static let missingTopics = Code(rawValue: ownCodeBase - 6)
        public static let mockCluster = Code(rawValue: ownCodeBase - 7)

        // librdkafka codes the pipeline is likely to match on.
        public static let noError = Code(RD_KAFKA_RESP_ERR_NO_ERROR)
        public static let queueFull = Code(RD_KAFKA_RESP_ERR__QUEUE_FULL)
        public static let timedOut = Code(RD_KAFKA_RESP_ERR__TIMED_OUT)
        public static let messageTimedOut = Code(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT)
        public static let transport = Code(RD_KAFKA_RESP_ERR__TRANSPORT)
        public static let allBrokersDown = Code(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
        public static let resolve = Code(RD_KAFKA_RESP_ERR__RESOLVE)
        public static let fatal = Code(RD_KAFKA_RESP_ERR__FATAL)
        /// SASL authentication failed (wrong password, unknown user, refused token, no common mechanism).
        public static let authentication = Code(RD_KAFKA_RESP_ERR__AUTHENTICATION)
        public static let unknownTopicOrPartition = Code(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
        public static let unknownTopic = Code(RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC)
        public static let messageSizeTooLarge = Code(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
        public static let topicAlreadyExists = Code(RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        public static let unsupportedFeature = Code(RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE)
        public static let outOfOrderSequence = Code(RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER)
        public static let purgeQueue = Code(RD_KAFKA_RESP_ERR__PURGE_QUEUE)
        public static let purgeInFlight = Code(RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
        public static let rebalanceInProgress = Code(RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS)
        public static let illegalGeneration = Code(RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION)
        public static let unknownMemberID = Code(RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID)
        public static let noOffset = Code(RD_KAFKA_RESP_ERR__NO_OFFSET)
        public static let state = Code(RD_KAFKA_RESP_ERR__STATE)
        public static let fenced = Code(RD_KAFKA_RESP_ERR__FENCED)
        public static let producerFenced = Code(RD_KAFKA_RESP_ERR_PRODUCER_FENCED)
        public static let invalidProducerEpoch = Code(RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH)
        public static let transactionalIDAuthorizationFailed = Code(RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
    }

    public var code: Code
    public var message: String
    public var topic: String?
    public var partition: Int32?
    /// Whether the same operation may succeed later (a broker outage, a leader change, a timeout).
    public var isRetriable: Bool
    /// A fatal error: the client instance is unusable (e.g. an idempotence sequence violation) and must be
    /// recreated; the process should stop the affected role.
    public var isFatal: Bool
    /// A transactional producer's error that aborting the current transaction clears (a failed delivery, a
    /// timed-out transaction): abort, then produce the transaction's rows again.
    public var requiresAbort: Bool = false

    /// The record was purged from the producer's queue (an abort's or a shutdown's own doing), not refused by
    /// the broker: no reason to abort a transaction over it.
    public var isPurge: Bool { code == .purgeQueue || code == .purgeInFlight }

    /// Another instance with the same `transactional.id` took over (or the broker fenced this one's epoch).
    public var isFenced: Bool {
        code == .fenced || code == .producerFenced || code == .invalidProducerEpoch
    }

    public init(
        code: Code, message: String, topic: String? = nil, partition: Int32? = nil, isRetriable: Bool? = nil,
        isFatal: Bool = false
    ) {
        self.code = code
        self.message = message
        self.topic = topic
        self.partition = partition
        self.isRetriable = isRetriable ?? (!isFatal && Self.transientCodes.contains(code))
        self.isFatal = isFatal
    }

    public var description: String {
        var text = "Kafka error \(code.name)"
        if let topic {
            text += " on \(topic)"
            if let partition { text += "[\(partition)]" }
        }
        text += ": \(message)"
        if isFatal { text += " (fatal: the client must be recreated)" }
        else if requiresAbort { text += " (the transaction must be aborted)" }
        else if isRetriable { text += " (retriable)" }
        return text
    }

    /// Codes that describe a temporary condition of the cluster or the network.
    static let transientCodes: Set<Code> = [
        Code(RD_KAFKA_RESP_ERR__TRANSPORT), Code(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN),
        Code(RD_KAFKA_RESP_ERR__TIMED_OUT), Code(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT),
        Code(RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE), Code(RD_KAFKA_RESP_ERR__QUEUE_FULL),
        Code(RD_KAFKA_RESP_ERR__RESOLVE), Code(RD_KAFKA_RESP_ERR__WAIT_COORD),
        Code(RD_KAFKA_RESP_ERR__IN_PROGRESS), Code(RD_KAFKA_RESP_ERR__PREV_IN_PROGRESS),
        Code(RD_KAFKA_RESP_ERR__NODE_UPDATE),
        Code(RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT), Code(RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION),
        Code(RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE), Code(RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION),
        Code(RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS), Code(RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND),
        Code(RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS), Code(RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE),
        Code(RD_KAFKA_RESP_ERR_NOT_COORDINATOR), Code(RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS),
        Code(RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR), Code(RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE),
        Code(RD_KAFKA_RESP_ERR_REPLICA_NOT_AVAILABLE), Code(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART),
        Code(RD_KAFKA_RESP_ERR_FETCH_SESSION_ID_NOT_FOUND), Code(RD_KAFKA_RESP_ERR_OFFSET_NOT_AVAILABLE),
        Code(RD_KAFKA_RESP_ERR_THROTTLING_QUOTA_EXCEEDED),
    ]
}

extension KafkaError {
    /// An error for a plain librdkafka response code, resolving `_FATAL` to the underlying fatal error of `handle`.
    init(
        _ err: rd_kafka_resp_err_t, handle: OpaquePointer?, context: String, topic: String? = nil,
        partition: Int32? = nil
    ) {
        let reason = String(cString: rd_kafka_err2str(err))
        if err == RD_KAFKA_RESP_ERR__FATAL, let handle, let fatal = Self.fatal(of: handle) {
            self = KafkaError(
                code: fatal.code, message: "\(context): \(fatal.message)", topic: topic, partition: partition,
                isFatal: true)
        } else {
            self.init(code: Code(err), message: "\(context): \(reason)", topic: topic, partition: partition)
        }
    }

    /// Converts (and destroys) an `rd_kafka_error_t`.
    init(consuming error: OpaquePointer, context: String) {
        defer { rd_kafka_error_destroy(error) }
        let code = Code(rd_kafka_error_code(error))
        let text = rd_kafka_error_string(error).map { String(cString: $0) } ?? code.name
        let fatal = rd_kafka_error_is_fatal(error) != 0
        let retriable = rd_kafka_error_is_retriable(error) != 0
        let abortable = rd_kafka_error_txn_requires_abort(error) != 0
        // An abortable error is retried through the abort, never by repeating the failed call.
        self.init(
            code: code, message: "\(context): \(text)",
            isRetriable: !fatal && !abortable && (retriable || Self.transientCodes.contains(code)), isFatal: fatal)
        requiresAbort = abortable && !fatal
    }

    /// The client's fatal error, if one was raised.
    static func fatal(of handle: OpaquePointer) -> KafkaError? {
        var buffer = [CChar](repeating: 0, count: 512)
        let err = rd_kafka_fatal_error(handle, &buffer, buffer.count)
        guard err != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        let text = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return KafkaError(code: Code(err), message: text, isFatal: true)
    }

    public static func shutDown(_ what: String) -> KafkaError {
        KafkaError(code: .shutDown, message: "\(what): the client has been shut down", isRetriable: false)
    }
}
