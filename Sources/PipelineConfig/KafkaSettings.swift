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

    public init() {}

    public func topic(for table: TableSource) -> String { "\(topicPrefix).\(table.name)" }

    /// The effective producer properties: common then producer-specific.
    public var effectiveProducerProperties: [String: String] {
        properties.merging(producerProperties) { _, specific in specific }
    }

    /// The effective consumer properties: common then consumer-specific.
    public var effectiveConsumerProperties: [String: String] {
        properties.merging(consumerProperties) { _, specific in specific }
    }
}
