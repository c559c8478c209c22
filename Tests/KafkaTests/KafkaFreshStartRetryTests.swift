import Logging
import Testing
import TestSupport

@testable import Kafka

/// A partition without a committed offset starts at the log start once librdkafka reports it, and librdkafka
/// reports it only once. When that start fails (the broker went away while the group's offsets were read, as a
/// Tansu restart showed), the partition must be retried by the next polls, not left stopped for good.
@Suite struct KafkaFreshStartRetryTests {
    @Test func aFailedStartIsRetriedUntilItWorks() async throws {
        let logger = KafkaTestSupport.quietLogger
        let cluster = try KafkaMockCluster(brokers: 1, logger: logger)
        defer { cluster.shutdown() }
        let topic = KafkaTestSupport.uniqueName("fresh")
        try cluster.createTopic(topic, partitions: 1, replicationFactor: 1)
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers), logger: logger)
        _ = try await KafkaTestSupport.produceAll(producer, topic: topic, 0..<20)
        await producer.shutdown(timeout: .seconds(5))
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(bootstrapServers: cluster.bootstrapServers,
                                                      groupID: KafkaTestSupport.uniqueName("fresh"), topics: [topic],
                                                      properties: KafkaTestSupport.fastGroupProperties),
            logger: logger)
        _ = try await KafkaTestSupport.poll(consumer, count: 20)
        let partition = KafkaTopicPartition(topic: topic, partition: 0)
        let rk = consumer.client.withLock { $0 }.pointer
        let capture = LogCapture()

        cluster.setAllBrokersDown()
        KafkaConsumer.startFresh(rk, [partition], state: consumer.state, logger: capture.logger(),
                                 retryInterval: .milliseconds(100))
        #expect(consumer.state.pendingStarts.withLock { $0.partitions } == [partition], "the failed start is kept")
        #expect(capture.text.contains("cannot start partitions without a committed offset yet"))

        cluster.setAllBrokersUp()
        try await Task.sleep(for: .milliseconds(200))
        KafkaConsumer.startFresh(rk, [], state: consumer.state, logger: capture.logger(), retryInterval: .milliseconds(100))
        #expect(consumer.state.pendingStarts.withLock { $0.partitions }.isEmpty, "the retry started it")
        #expect(capture.text.contains("started at the log start after a retry"))
        // Started at the log start again: the records come back.
        let again = try await KafkaTestSupport.poll(consumer, count: 20)
        #expect(again.count == 20)
        await consumer.close()
    }
}
