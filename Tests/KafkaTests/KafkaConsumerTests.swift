import Kafka
import Logging
import Synchronization
import Testing

@Suite struct KafkaConsumerTests {
    let logger: Logger = {
        var logger = Logger(label: "kafka-consumer-test")
        logger.logLevel = .info
        return logger
    }()

    private func setUp(partitions: Int, records: Int) async throws -> (KafkaMockCluster, String) {
        let cluster = try KafkaMockCluster(brokers: 3, logger: logger)
        let topic = KafkaTestSupport.uniqueName("consume")
        try cluster.createTopic(topic, partitions: partitions, replicationFactor: 3)
        if records > 0 {
            let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers), logger: logger)
            _ = try await KafkaTestSupport.produceAll(producer, topic: topic, 0..<records)
            await producer.shutdown(timeout: .seconds(5))
        }
        return (cluster, topic)
    }

    private func consumer(_ cluster: KafkaMockCluster, _ topic: String, group: String, maxPollRecords: Int = 2_000,
                          onRebalance: (@Sendable (KafkaRebalanceEvent) -> Void)? = nil) throws -> KafkaConsumer {
        var configuration = KafkaConsumerConfiguration(
            bootstrapServers: cluster.bootstrapServers, groupID: group, topics: [topic],
            properties: KafkaTestSupport.fastGroupProperties)
        configuration.maxPollRecords = maxPollRecords
        return try KafkaConsumer(configuration: configuration, logger: logger, onRebalance: onRebalance)
    }

    /// A JoinGroup the coordinator never answers (here: answered after 10 minutes) leaves the member without
    /// partitions; unsubscribing and subscribing again cannot help while that request is in flight. `rejoin()`
    /// joins with a new client, which gets the partitions and reads every record.
    @Test func rejoinRecoversFromAJoinTheCoordinatorNeverAnswers() async throws {
        let (cluster, topic) = try await setUp(partitions: 3, records: 300)
        defer { cluster.shutdown() }
        cluster.delayNextRequest(apiKey: 11, by: .seconds(600))  // 11: JoinGroup
        let consumer = try consumer(cluster, topic, group: KafkaTestSupport.uniqueName("rejoin"))
        let start = ContinuousClock.now
        while ContinuousClock.now - start < .seconds(8) {
            #expect(try await consumer.poll(timeout: .milliseconds(200)).isEmpty)
        }
        #expect(consumer.assignment().isEmpty, "the delayed JoinGroup must keep the member without partitions")
        #expect(consumer.waitingForAssignment != nil)
        try await consumer.rejoin()
        let messages = try await KafkaTestSupport.poll(consumer, count: 300)
        #expect(consumer.assignment().count == 3)
        #expect(consumer.waitingForAssignment == nil)
        await consumer.close()
        #expect(Set(messages.compactMap { KafkaTestSupport.index(of: $0.value) }) == Set(0..<300))
    }

    @Test func groupReadsEveryRecordBackInOffsetOrder() async throws {
        let (cluster, topic) = try await setUp(partitions: 3, records: 1_000)
        defer { cluster.shutdown() }
        let consumer = try consumer(cluster, topic, group: KafkaTestSupport.uniqueName("read"), maxPollRecords: 300)
        let messages = try await KafkaTestSupport.poll(consumer, count: 1_000)
        #expect(consumer.assignment().count == 3)
        await consumer.close()
        #expect(messages.count == 1_000)
        #expect(Set(messages.compactMap { KafkaTestSupport.index(of: $0.value) }) == Set(0..<1_000))
        for message in messages {
            #expect(message.value == KafkaTestSupport.value(KafkaTestSupport.index(of: message.value) ?? -1))
            #expect(message.key.map { String(decoding: $0, as: UTF8.self) } == KafkaTestSupport.index(of: message.value).map(String.init))
        }
        for partition in Int32(0)..<3 {
            let offsets = messages.filter { $0.partition == partition }.map(\.offset)
            #expect(offsets == (0..<Int64(offsets.count)).map { $0 })
        }
    }

    @Test func committedOffsetsAreWhereTheNextMemberStarts() async throws {
        let (cluster, topic) = try await setUp(partitions: 2, records: 100)
        defer { cluster.shutdown() }
        let group = KafkaTestSupport.uniqueName("commit")
        let first = try consumer(cluster, topic, group: group)
        let read = try await KafkaTestSupport.poll(first, count: 100)
        #expect(read.count == 100)
        let partitions = [0, 1].map { KafkaTopicPartition(topic: topic, partition: $0) }
        #expect(try await first.committed(partitions, timeout: .seconds(5)).isEmpty)
        let next = KafkaTestSupport.nextOffsets(read)
        try await first.commit(next)
        let committed = try await first.committed(partitions, timeout: .seconds(5))
        #expect(committed == next)
        #expect(committed.values.reduce(0, +) == 100)
        await first.close()

        let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers), logger: logger)
        _ = try await KafkaTestSupport.produceAll(producer, topic: topic, 100..<120)
        await producer.shutdown(timeout: .seconds(5))

        let second = try consumer(cluster, topic, group: group)
        let rest = try await KafkaTestSupport.poll(second, count: 20)
        // Nothing more arrives: the new member started exactly at the committed offsets.
        let extra = try await second.poll(timeout: .seconds(1))
        await second.close()
        #expect(rest.compactMap { KafkaTestSupport.index(of: $0.value) }.sorted() == Array(100..<120))
        #expect(extra.isEmpty)
    }

    /// Two restarts back to back (two partitions losing data at once), with no record returned in between:
    /// after the first, librdkafka knows no position for the other partitions, and starting them at the
    /// committed offset would return records again that were returned already (the sink found such repeats in
    /// the chaos suite's retention-loss run). Every record comes back exactly once.
    @Test func restartsBackToBackReturnNoRecordTwice() async throws {
        let (cluster, topic) = try await setUp(partitions: 3, records: 3_000)
        defer { cluster.shutdown() }
        let consumer = try consumer(cluster, topic, group: KafkaTestSupport.uniqueName("restart"), maxPollRecords: 100)
        var read = try await KafkaTestSupport.waitForAssignment(consumer)
        while read.count < 600 { read += try await consumer.poll(timeout: .seconds(1)) }
        // Nothing committed: the committed offset (none: the log start) lies behind everything returned.
        let partitions = (0..<3).map { KafkaTopicPartition(topic: topic, partition: Int32($0)) }
        func next(_ partition: KafkaTopicPartition) -> Int64 {
            (read.filter { $0.partition == partition.partition }.map(\.offset).max() ?? -1) + 1
        }
        try await consumer.restart(partitions[0], at: next(partitions[0]))
        try await consumer.restart(partitions[1], at: next(partitions[1]))
        read += try await KafkaTestSupport.poll(consumer, count: 3_000 - read.count)
        let extra = try await consumer.poll(timeout: .seconds(1))
        await consumer.close()
        for partition in partitions {
            let offsets = (read + extra).filter { $0.partition == partition.partition }.map(\.offset)
            #expect(offsets == Array(0..<Int64(offsets.count)), "\(partition): every offset once, in order")
        }
        #expect(read.count + extra.count == 3_000)
    }

    /// A restart moves the partition away from the end the fetcher reported: that report no longer holds (a
    /// `--once` sink that trusted it after a retention loss would stop with the records from the new position on
    /// unread). The end is reported again once the fetcher reaches it from the new position.
    @Test func aRestartForgetsThePartitionsReportedEnd() async throws {
        let (cluster, topic) = try await setUp(partitions: 1, records: 100)
        defer { cluster.shutdown() }
        let consumer = try consumer(cluster, topic, group: KafkaTestSupport.uniqueName("restart-end"))
        let partition = KafkaTopicPartition(topic: topic, partition: 0)
        var read = try await KafkaTestSupport.waitForAssignment(consumer)
        let until = ContinuousClock.now + .seconds(20)
        while consumer.reachedEnds()[partition] == nil, ContinuousClock.now < until {
            read += try await consumer.poll(timeout: .milliseconds(200))
        }
        #expect(read.count == 100)
        #expect(consumer.reachedEnds()[partition] == 100)

        try await consumer.restart(partition, at: 40)
        #expect(consumer.reachedEnds()[partition] == nil, "the end reported before the restart is forgotten")
        var again: [KafkaMessage] = []
        while consumer.reachedEnds()[partition] == nil, ContinuousClock.now < until {
            again += try await consumer.poll(timeout: .milliseconds(200))
        }
        let endAfter = consumer.reachedEnds()[partition]
        await consumer.close()
        #expect(again.map(\.offset) == Array(40..<100))
        #expect(endAfter == 100, "reported again once the fetcher reached it")
    }

    @Test func pausedPartitionsDeliverNothingUntilResumed() async throws {
        let (cluster, topic) = try await setUp(partitions: 2, records: 0)
        defer { cluster.shutdown() }
        let consumer = try consumer(cluster, topic, group: KafkaTestSupport.uniqueName("pause"))
        let early = try await KafkaTestSupport.waitForAssignment(consumer)
        #expect(early.isEmpty)
        let assigned = consumer.assignment()
        #expect(assigned.count == 2)
        try consumer.pause(assigned)

        let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers), logger: logger)
        _ = try await KafkaTestSupport.produceAll(producer, topic: topic, 0..<50)
        await producer.shutdown(timeout: .seconds(5))

        var whilePaused: [KafkaMessage] = []
        let until = ContinuousClock.now + .seconds(2)
        while ContinuousClock.now < until { whilePaused += try await consumer.poll(timeout: .milliseconds(200)) }
        #expect(whilePaused.isEmpty)
        #expect(consumer.assignment() == assigned, "paused partitions stay assigned")

        try consumer.resume(assigned)
        let afterResume = try await KafkaTestSupport.poll(consumer, count: 50)
        await consumer.close()
        #expect(afterResume.compactMap { KafkaTestSupport.index(of: $0.value) }.sorted() == Array(0..<50))
    }

    @Test func watermarksAndLagFollowTheLog() async throws {
        let (cluster, topic) = try await setUp(partitions: 1, records: 200)
        defer { cluster.shutdown() }
        let consumer = try consumer(cluster, topic, group: KafkaTestSupport.uniqueName("lag"), maxPollRecords: 50)
        let partition = KafkaTopicPartition(topic: topic, partition: 0)
        let marks = try await consumer.watermarks(partition, timeout: .seconds(5))
        #expect(marks.low == 0)
        #expect(marks.high == 200)
        var read = try await KafkaTestSupport.waitForAssignment(consumer)
        if read.isEmpty { read = try await consumer.poll(timeout: .seconds(5)) }
        #expect(read.count <= 50)
        #expect(!read.isEmpty)
        let lag = consumer.lag()
        // #require, not `!`: on a starved machine the first poll can come back empty, which must fail this test,
        // not crash the whole test process.
        let last = try #require(read.last)
        #expect(lag[partition] == 200 - (last.offset + 1))
        read += try await KafkaTestSupport.poll(consumer, count: 200 - read.count)
        #expect(read.count == 200)
        #expect(consumer.lag()[partition] == 0)
        await consumer.close()
    }
}
