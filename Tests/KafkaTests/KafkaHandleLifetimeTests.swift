import Foundation
import Logging
import Synchronization
import Testing
import TestSupport

@testable import Kafka

/// librdkafka clients are destroyed even when their owner forgot `close()` / `shutdown(timeout:)`: dropping the
/// last reference stops the threads and frees the handle, never leaks it, and a client closed properly is not
/// destroyed twice.
@Suite struct KafkaHandleLifetimeTests {
    static func eventually(_ condition: () -> Bool) async throws -> Bool {
        for _ in 0..<3_000 {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }

    @Test func aConsumerDroppedWithoutCloseIsDestroyedByDeinit() async throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: Logger(label: "test.mock"))
        defer { cluster.shutdown() }
        let topic = KafkaTestSupport.uniqueName("lifetime")
        try cluster.createTopic(topic, partitions: 1, replicationFactor: 1)
        let logs = LogCapture()
        let group = KafkaTestSupport.uniqueName("lifetime-group")
        let before = KafkaConsumer.destroyedInDeinit.load(ordering: .relaxed)
        do {
            let consumer = try KafkaConsumer(
                configuration: KafkaConsumerConfiguration(bootstrapServers: cluster.bootstrapServers, groupID: group,
                                                          topics: [topic], properties: KafkaTestSupport.fastGroupProperties),
                logger: logs.logger("test.kafka", level: .warning))
            _ = try await consumer.pollRecords(timeout: .milliseconds(200))  // its threads worked
        }
        // The last reference may be the finished poll job's, which its thread drops a moment after resuming us.
        #expect(try await Self.eventually { KafkaConsumer.destroyedInDeinit.load(ordering: .relaxed) > before },
                "deinit did not destroy the client")
        #expect(logs.entries.contains { $0.level == .warning && $0.message.contains("dropped without close()")
            && $0.metadata["kafka.group"] == group })
    }

    @Test func aClosedConsumerIsNotDestroyedAgain() async throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: Logger(label: "test.mock"))
        defer { cluster.shutdown() }
        let topic = KafkaTestSupport.uniqueName("lifetime")
        try cluster.createTopic(topic, partitions: 1, replicationFactor: 1)
        let logs = LogCapture()
        do {
            let consumer = try KafkaConsumer(
                configuration: KafkaConsumerConfiguration(bootstrapServers: cluster.bootstrapServers,
                                                          groupID: KafkaTestSupport.uniqueName("lifetime-group"),
                                                          topics: [topic], properties: KafkaTestSupport.fastGroupProperties),
                logger: logs.logger("test.kafka", level: .warning))
            await consumer.close()
        }
        // A second destroy would have crashed the process; the warning is only for a skipped close.
        #expect(!logs.entries.contains { $0.message.contains("dropped without close()") })
    }

    @Test func aProducerDroppedWithoutShutdownStillReportsEveryRecordAndStops() async throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: Logger(label: "test.mock"))
        defer { cluster.shutdown() }
        let topic = KafkaTestSupport.uniqueName("lifetime")
        try cluster.createTopic(topic, partitions: 1, replicationFactor: 1)
        let logs = LogCapture()
        let reports = Atomic<Int>(0)
        let before = KafkaProducer.destroyedInDeinit.load(ordering: .relaxed)
        do {
            let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers),
                                             logger: logs.logger("test.kafka", level: .warning))
            for index in 0..<100 {
                try await producer.produce(topic: topic, key: nil, value: Array("\(index)".utf8)) { _ in
                    reports.add(1, ordering: .relaxed)
                }
            }
        }
        #expect(try await Self.eventually { KafkaProducer.destroyedInDeinit.load(ordering: .relaxed) > before })
        // The poll thread purges what is left and destroys the client: every record gets its one report.
        #expect(try await Self.eventually { reports.load(ordering: .relaxed) == 100 },
                "\(reports.load(ordering: .relaxed)) of 100 delivery reports")
        #expect(logs.entries.contains { $0.message.contains("dropped without shutdown") })
    }

    @Test func anInspectorDroppedWithoutCloseIsDestroyed() async throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: Logger(label: "test.mock"))
        defer { cluster.shutdown() }
        do {
            let inspector = try KafkaGroupInspector(bootstrapServers: cluster.bootstrapServers, groupID: "g",
                                                    logger: Logger(label: "test.kafka"))
            _ = try? await inspector.committed([KafkaTopicPartition(topic: "none", partition: 0)],
                                               timeout: .milliseconds(500))
        }
        // Reaching here without a crash or a hang is the point: deinit destroyed the client on this thread.
    }
}
