/// Kafka connection, topics and pass-through librdkafka properties.
public struct KafkaSettings: Sendable, Equatable {
    public var bootstrapServers: String = "localhost:9092"
    /// Topics are `<topicPrefix>.pin`, `.geo`, `.user`.
    public var topicPrefix: String = ""
    /// Create missing topics at start (needs the Admin API and permissions); otherwise missing topics fail the start.
    public var createTopics: Bool = false
    public var partitions: Int = 3
    public var replicationFactor: Int = 3
    /// Bound on produced records not yet acknowledged by the brokers.
    public var maxInFlight: Int = 10_000
    /// librdkafka properties for every client (e.g. `security.protocol`, `sasl.*`, `ssl.*`).
    public var properties: [String: String] = [:]
    /// Extra properties for the producer only (override `properties`).
    public var producerProperties: [String: String] = [:]
    /// Extra properties for the consumer only (override `properties`).
    public var consumerProperties: [String: String] = [:]
    public var groupID: String = "pinpipe-s3-sink"
    /// What the sink does when retention deleted records it had not read yet (`kafka.on_data_loss`).
    public var onDataLoss: DataLossPolicy = .stop
    /// How long the sink waits for the group to assign it partitions before it logs an error and joins again.
    public var joinTimeout: Duration = .seconds(60)
    /// Exactly once into Kafka: the source produces in transactions that also write its position to
    /// `offsetsTopic`; without it delivery is at-least-once and the position lives in the checkpoint file only.
    public var exactlyOnce: Bool = true
    /// When a transaction commits.
    public var transaction = KafkaTransactionSettings()
    /// `transactional.id` of the source producer; nil = `pinpipe-<topicPrefix>`. It must stay the same across
    /// restarts (a new instance fences the old one) and differ between pipelines.
    public var transactionalID: String?
    /// SASL authentication (`kafka.auth`).
    public var auth = KafkaAuthSettings()
    /// TLS to the brokers (`kafka.tls`).
    public var tls = KafkaTLSSettings()

    public init() {}

    /// Whether a librdkafka property belongs to what `kafka.auth`/`kafka.tls` set (they then own it).
    public static func isSecurityProperty(_ name: String) -> Bool {
        name == "security.protocol" || name.hasPrefix("sasl.") || name.hasPrefix("ssl.")
            || name == "enable.ssl.certificate.verification"
    }

    /// The librdkafka properties `kafka.auth` and `kafka.tls` stand for; `password` is the content of the
    /// password file (SCRAM/PLAIN). Empty when neither is configured (then `properties` may say it by hand).
    public func securityProperties(password: String?) -> [String: String] {
        guard auth.mechanism != .none || tls.enabled else { return [:] }
        var result: [String: String] = [:]
        switch (auth.mechanism.saslMechanism, tls.enabled) {
        case (nil, _): result["security.protocol"] = "SSL"
        case (_?, true): result["security.protocol"] = "SASL_SSL"
        case (_?, false): result["security.protocol"] = "SASL_PLAINTEXT"
        }
        if let mechanism = auth.mechanism.saslMechanism { result["sasl.mechanism"] = mechanism }
        if let username = auth.username { result["sasl.username"] = username }
        if let password { result["sasl.password"] = password }
        if let caFile = tls.caFile { result["ssl.ca.location"] = caFile }
        if let certFile = tls.certFile { result["ssl.certificate.location"] = certFile }
        if let keyFile = tls.keyFile { result["ssl.key.location"] = keyFile }
        return result
    }

    public func topic(for table: TableSource) -> String { "\(topicPrefix).\(table.name)" }

    /// Kafka's rule for topic names: 1 to 249 of ASCII letters, digits, `.`, `_` and `-`, and not `.` or `..`.
    public static func isValidTopicName(_ name: String) -> Bool {
        guard (1...249).contains(name.utf8.count), name != ".", name != ".." else { return false }
        return name.utf8.allSatisfy { byte in
            (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
    }

    /// The compacted topic that holds the source position per table (key = table name), written in the same
    /// transaction as the rows (Kafka Connect's exactly-once source scheme, KIP-618).
    public var offsetsTopic: String { "\(topicPrefix).pinpipe-offsets" }

    /// `transactionalID`, or the default derived from the topic prefix.
    public var effectiveTransactionalID: String { transactionalID ?? "pinpipe-\(topicPrefix)" }

    /// The effective producer properties: common then producer-specific.
    public var effectiveProducerProperties: [String: String] {
        properties.merging(producerProperties) { _, specific in specific }
    }

    /// The effective consumer properties: common then consumer-specific.
    public var effectiveConsumerProperties: [String: String] {
        properties.merging(consumerProperties) { _, specific in specific }
    }
}

/// What the sink does when the broker no longer holds records the group had not read (its position fell below
/// the log start offset, e.g. a sink down longer than the topic's retention). Either way the loss is logged as an
/// error naming topic, partition and offsets, counted in STATUS, and written to S3 as a loss record beside the
/// data, so `pinpipe verify` reports it.
public enum DataLossPolicy: String, Sendable, Equatable, CaseIterable {
    /// Store and commit what was read before the loss, write the loss record, then stop (exit status 4) until
    /// an operator decides: the default, because a silent skip is what made the loss invisible before.
    case stop
    /// Write the loss record, move on to the oldest retained record, and keep running.
    case record
}

/// A transaction commits at whichever limit comes first. Rows become visible to `read_committed` consumers
/// (the sink) only at the commit, so `maxInterval` bounds the added latency; every commit flushes the
/// producer and costs a round trip to the transaction coordinator, so small transactions cost throughput.
public struct KafkaTransactionSettings: Sendable, Equatable {
    /// Rows (over all tables) per transaction.
    public var maxRecords: Int = 250_000
    /// Longest time a transaction stays open once it holds a row.
    public var maxInterval: Duration = .seconds(1)

    public init(maxRecords: Int = 250_000, maxInterval: Duration = .seconds(1)) {
        self.maxRecords = maxRecords
        self.maxInterval = maxInterval
    }
}
