import Foundation
import Kafka
import Logging
import Synchronization
import Systemd
import Testing
import TestSupport

@testable import Pipeline

/// The topic consumer on its own, against an in-process librdkafka mock cluster.
@Suite(.serialized) struct TopicConsumerTests {
    /// The coordinator is unreachable while the sink joins its group (the brokers froze right after start). Once
    /// they are back, the sink must get its partitions — and a wait longer than `join_timeout` is never silent: it
    /// shows in STATUS, is logged as an error naming the group, and answered by joining again.
    @Test func aJoinLostToABrokerOutageIsRetriedNotWaitedOutSilently() async throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: Logger(label: "test.mock"))
        defer { cluster.shutdown() }
        let topic = "join-\(UInt32.random(in: 0...UInt32.max)).pin"
        try cluster.createTopic(topic, partitions: 2, replicationFactor: 1)
        let logs = LogCapture()
        let group = "join-group-\(UInt32.random(in: 0...UInt32.max))"
        cluster.setAllBrokersDown()
        let stats = PipelineStats()
        let shutdown = ShutdownSignal()
        let topicConsumer = try TopicConsumer(
            configuration: KafkaConsumerConfiguration(bootstrapServers: cluster.bootstrapServers, groupID: group,
                                                      topics: [topic], properties: ["session.timeout.ms": "6000"]),
            context: ActorContext(stats: stats, logger: logs.logger("test.consumer", level: .info), shutdown: shutdown),
            joinTimeout: .seconds(15))
        let consumer = topicConsumer.consumer
        let (channel, elements) = BoundedChannel<SinkInput>.make(low: 100, high: 1_000) { $0.records.count }
        let drain = Task { for await _ in elements {} }
        let run = Task { try await topicConsumer.run(into: channel) }
        // 20 s without a coordinator: the wait shows in STATUS and, past 15 s, the member joins again.
        try await Task.sleep(for: .seconds(20))
        #expect(consumer.assignment().isEmpty, "assigned although every broker was down: the outage did not happen")
        #expect(stats.statusLine(roles: ["sink"]).contains("no partitions assigned by group \(group)"))
        #expect(logs.entries.contains { $0.level == .error && $0.message.contains("No partitions assigned") })
        cluster.setAllBrokersUp()
        let upAt = ContinuousClock.now
        while consumer.assignment().isEmpty, ContinuousClock.now - upAt < .seconds(60) {
            try await Task.sleep(for: .milliseconds(200))
        }
        let took = ContinuousClock.now - upAt
        print("TopicConsumerTests: partitions assigned \(took) after the brokers came back")
        #expect(consumer.assignment().count == 2, "no assignment \(took) after the brokers came back")
        // Assigned: the wait left STATUS.
        try await Task.sleep(for: .milliseconds(500))
        #expect(!stats.statusLine(roles: ["sink"]).contains("OUTAGE: Kafka: no partitions assigned"))
        shutdown.trigger()
        try await run.value
        drain.cancel()
        await consumer.close()
    }
}
