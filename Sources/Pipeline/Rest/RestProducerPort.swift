import Kafka

/// What the REST endpoint needs from Kafka (a port, so tests can stand in a failing or slow producer).
protocol RestProducerPort: Sendable {
    /// Enqueues one record; `onDelivery` runs exactly once with where it was stored or why not.
    func produce(topic: String, partition: Int32?, key: [UInt8]?, value: [UInt8]?,
                 onDelivery: @escaping @Sendable (Result<KafkaDeliveryReport, KafkaError>) -> Void)
        async throws(KafkaError)

    /// The cluster's topics (the catalog filters them by the allow list).
    func clusterTopics(timeout: Duration) async throws(KafkaError) -> [String: KafkaTopicMetadata]
}

extension KafkaProducer: RestProducerPort {
    func produce(topic: String, partition: Int32?, key: [UInt8]?, value: [UInt8]?,
                 onDelivery: @escaping @Sendable (Result<KafkaDeliveryReport, KafkaError>) -> Void)
        async throws(KafkaError)
    {
        try await produce(topic: topic, partition: partition, key: key, value: value, headers: [],
                          onDelivery: onDelivery)
    }
}
