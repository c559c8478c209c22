import Kafka
import Logging
import Testing

/// A fatal idempotence error (the broker reports a sequence gap) must reach the caller as `isFatal`.
@Suite struct KafkaFatalErrorTests {
    @Test func outOfOrderSequenceIsFatalForTheIdempotentProducer() async throws {
        let logger = KafkaTestSupport.quietLogger
        let cluster = try KafkaMockCluster(brokers: 1, logger: logger)
        defer { cluster.shutdown() }
        let topic = KafkaTestSupport.uniqueName("fatal")
        try cluster.createTopic(topic, partitions: 1, replicationFactor: 1)
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers), logger: logger)
        _ = try await producer.send(topic: topic, key: nil, value: [1])
        // Kafka protocol: API key 0 = Produce; error 45 = OUT_OF_ORDER_SEQUENCE_NUMBER.
        cluster.pushRequestErrors(apiKey: 0, errors: [45])
        var failure: KafkaError?
        do {
            _ = try await producer.send(topic: topic, key: nil, value: [2])
        } catch {
            failure = error
        }
        let error = try #require(failure)
        #expect(error.isFatal, "\(error)")
        #expect(!error.isRetriable)
        // Later records are refused at once with the same fatal condition.
        await #expect(throws: KafkaError.self) { try await producer.send(topic: topic, key: nil, value: [3]) }
        await producer.shutdown(timeout: .seconds(2))
    }
}
