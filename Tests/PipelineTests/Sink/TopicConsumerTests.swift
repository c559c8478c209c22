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

    /// Writes `count` records to `topic` (keys 0..<count) and waits for their acknowledgements.
    func produce(_ cluster: KafkaMockCluster, topic: String, count: Int) async throws {
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers),
                                         logger: Logger(label: "test.producer"))
        for index in 0..<count {
            try await producer.produce(topic: topic, key: Array("\(index)".utf8), value: Array("{\"i\":\(index)}".utf8)) { _ in }
        }
        try await producer.flush(timeout: .seconds(30))
        await producer.shutdown(timeout: .seconds(5))
    }

    func makeTopicConsumer(_ cluster: KafkaMockCluster, topic: String, stats: PipelineStats, shutdown: ShutdownSignal,
                           pauseAfter: Duration = .seconds(1)) throws -> TopicConsumer {
        try TopicConsumer(
            configuration: KafkaConsumerConfiguration(
                bootstrapServers: cluster.bootstrapServers, groupID: "tc-\(UInt32.random(in: 0...UInt32.max))",
                topics: [topic], properties: ["session.timeout.ms": "6000", "auto.offset.reset": "earliest"]),
            context: ActorContext(stats: stats, logger: Logger(label: "test.consumer"), shutdown: shutdown),
            pauseAfter: pauseAfter)
    }

    /// Every record reaches the channel once, in offset order per partition; the rebalance callback the topic
    /// consumer installed counted the assignment; run-once mode ends when caught up and finishes the channel.
    @Test func handsEveryRecordOverInOrderAndStopsWhenCaughtUp() async throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: Logger(label: "test.mock"))
        defer { cluster.shutdown() }
        let topic = "tc-\(UInt32.random(in: 0...UInt32.max)).pin"
        try cluster.createTopic(topic, partitions: 3, replicationFactor: 1)
        try await produce(cluster, topic: topic, count: 3_000)
        let stats = PipelineStats()
        let topicConsumer = try makeTopicConsumer(cluster, topic: topic, stats: stats, shutdown: ShutdownSignal())
        let (channel, elements) = BoundedChannel<SinkInput>.make(low: 500, high: 1_000) { $0.records.count }
        let run = Task { try await topicConsumer.run(into: channel, stopWhenCaughtUp: { true }) }
        var offsets: [Int32: [Int64]] = [:]
        for await input in elements {  // ends when the consumer finishes the channel
            for record in input.records.records {
                offsets[record.partition, default: []].append(record.offset)
            }
        }
        try await run.value
        await topicConsumer.close()
        #expect(offsets.values.reduce(0) { $0 + $1.count } == 3_000)
        for (partition, list) in offsets {
            #expect(list == Array(0..<Int64(list.count)), "partition \(partition) out of order or with gaps")
        }
        let assigned = stats.snapshot().samples(MetricName.rebalances, matching: ["event": "assigned"])
        #expect((assigned.first?.value ?? 0) >= 1, "the consumer's own rebalance callback counted no assignment")
    }

    /// A sink that does not drain: the consumer stops at the channel's high watermark (plus one poll), pauses its
    /// partitions after `pauseAfter` and keeps polling; once the sink drains, it resumes and hands over the rest.
    @Test func aFullChannelPausesThePartitionsAndDrainingResumesThem() async throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: Logger(label: "test.mock"))
        defer { cluster.shutdown() }
        let topic = "tc-\(UInt32.random(in: 0...UInt32.max)).pin"
        try cluster.createTopic(topic, partitions: 2, replicationFactor: 1)
        try await produce(cluster, topic: topic, count: 2_000)
        let stats = PipelineStats()
        let shutdown = ShutdownSignal()
        let topicConsumer = try makeTopicConsumer(cluster, topic: topic, stats: stats, shutdown: shutdown,
                                                  pauseAfter: .milliseconds(200))
        let (channel, elements) = BoundedChannel<SinkInput>.make(low: 50, high: 100) { $0.records.count }
        let run = Task { try await topicConsumer.run(into: channel) }
        func paused() -> Double {
            stats.snapshot().samples(MetricName.paused).first?.value ?? 0
        }
        var waited = 0
        while paused() < 2, waited < 3_000 {
            try await Task.sleep(for: .milliseconds(10))
            waited += 1
        }
        #expect(paused() == 2, "the partitions were never paused behind a full channel")
        #expect(channel.isFull)
        var received = 0
        for await input in elements {
            received += input.records.count
            if received >= 2_000 { break }
        }
        #expect(received == 2_000)
        waited = 0
        while paused() > 0, waited < 3_000 {
            try await Task.sleep(for: .milliseconds(10))
            waited += 1
        }
        #expect(paused() == 0, "the partitions stayed paused after the sink drained")
        shutdown.trigger()
        try await run.value
        await topicConsumer.close()
    }
}
