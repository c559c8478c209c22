import Foundation
import Kafka
import Logging
import PipelineConfig
import Synchronization
import Systemd
import Testing
import TestSupport

@testable import Pipeline

/// Retention deletes records the group has not read: librdkafka's mock broker (Debian's build) keeps only the
/// newest ~5 MiB of a partition, which is exactly the production failure (a sink down longer than retention).
/// The loss must be detected, logged, counted, stored as a loss record, and handled per `on_data_loss`.
@Suite(.serialized) struct DataLossTests {
    static let logger: Logger = {
        var logger = Logger(label: "test.loss")
        logger.logLevel = .error
        return logger
    }()

    /// A two-partition topic whose group committed offset 10 of partition 0 (partition 1: nothing), after which
    /// about 8 MiB more per partition were produced: partition 0's log start moved past 10. Partition 1 is read
    /// from its log start at the same time, so it shows that restarting partition 0 skips and repeats nothing
    /// elsewhere. Returns the cluster, topic, group, and partition 0's log start and end.
    func brokerThatDeletedUnreadRecords() async throws -> (KafkaMockCluster, String, String, low: Int64, high: Int64) {
        let cluster = try KafkaMockCluster(brokers: 1, logger: Self.logger)
        let topic = "loss-\(UInt32.random(in: 0...UInt32.max)).pin"
        let group = "loss-group-\(UInt32.random(in: 0...UInt32.max))"
        try cluster.createTopic(topic, partitions: 2, replicationFactor: 1)
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers,
                                                      properties: ["linger.ms": "5", "batch.size": "65536"]),
            logger: Self.logger)
        let value = Array("{\"row\":\"\(String(repeating: "x", count: 1000))\"}".utf8)
        for index in 0..<17_000 {
            try await producer.produce(topic: topic, key: Array("\(index)".utf8), value: value) { _ in }
        }
        try await producer.flush(timeout: .seconds(60))
        await producer.shutdown(timeout: .seconds(5))
        // The group read (and stored) the first 10 records long ago.
        let committer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(bootstrapServers: cluster.bootstrapServers, groupID: group,
                                                      topics: [topic], properties: ["session.timeout.ms": "6000"]),
            logger: Self.logger)
        let deadline = ContinuousClock.now + .seconds(30)
        while committer.assignment().isEmpty, ContinuousClock.now < deadline {
            _ = try await committer.pollRecords(timeout: .milliseconds(200))
        }
        let partition = KafkaTopicPartition(topic: topic, partition: 0)
        try await committer.commit([partition: 10])
        let marks = try await committer.watermarks(partition, timeout: .seconds(10))
        await committer.close()
        return (cluster, topic, group, marks.low, marks.high)
    }

    func runSink(_ cluster: KafkaMockCluster, topic: String, group: String, policy: DataLossPolicy,
                 store: MemoryStore, committer: MemoryCommitter, stats: PipelineStats, logger: Logger = Self.logger)
        async throws -> (sinkError: (any Error)?, consumer: KafkaConsumer)
    {
        let shutdown = ShutdownSignal()
        let context = ActorContext(stats: stats, logger: logger, shutdown: shutdown)
        let topicConsumer = try TopicConsumer(
            configuration: KafkaConsumerConfiguration(bootstrapServers: cluster.bootstrapServers, groupID: group,
                                                      topics: [topic], properties: ["session.timeout.ms": "6000"]),
            context: context, onDataLoss: policy)
        let consumer = topicConsumer.consumer
        var settings = S3SinkSettings()
        settings.bucket = "b"
        settings.batch = BatchLimits(maxRecords: 1_000, maxBytes: 4 << 20, maxAge: .seconds(60))
        let sink = S3Sink(settings: settings, objectStore: store, committer: CommitThrough(consumer: consumer, log: committer),
                          deadLetter: MemoryDeadLetters(), context: context)
        let (channel, elements) = BoundedChannel<SinkInput>.make(low: 2_000, high: 4_000) { $0.records.count }
        let done = ShutdownSignal()
        done.trigger()
        async let consumed: Void = topicConsumer.run(into: channel, stopWhenCaughtUp: { done.isTriggered })
        var sinkError: (any Error)?
        do { try await sink.run(input: elements) } catch { sinkError = error }
        shutdown.trigger()
        do { try await consumed } catch { Issue.record("the topic consumer failed: \(error)") }
        return (sinkError, consumer)
    }

    @Test func recordPolicyStoresALossRecordAndReadsOnFromTheLogStart() async throws {
        let (cluster, topic, group, low, high) = try await brokerThatDeletedUnreadRecords()
        defer { cluster.shutdown() }
        try #require(low > 10, "the broker kept everything (log start \(low)): the test would prove nothing")
        let store = MemoryStore()
        let committer = MemoryCommitter(store: store)
        let stats = PipelineStats()
        let logs = LogCapture()
        let (error, consumer) = try await runSink(cluster, topic: topic, group: group, policy: .record, store: store,
                                                  committer: committer, stats: stats, logger: logs.logger(level: .warning))
        await consumer.close()
        #expect(error == nil)
        let objects = store.objects.withLock { $0 }
        // Partition 1 lost nothing: every retained record is stored exactly once (no overlap, no gap).
        let inspector = try KafkaGroupInspector(bootstrapServers: cluster.bootstrapServers, groupID: group, logger: Self.logger)
        let other = try await inspector.watermarks(KafkaTopicPartition(topic: topic, partition: 1), timeout: .seconds(10))
        await inspector.close()
        let otherObjects = objects.filter { $0.key.hasPrefix("topics/\(topic)/partition=1/") }.map {
            PartitionAudit.StoredObject(key: $0.key, firstOffset: Int64($0.value.metadata["first-offset"]!)!,
                                        lastOffset: Int64($0.value.metadata["last-offset"]!)!,
                                        recordCount: Int64($0.value.metadata["record-count"]!),
                                        lineCount: Int64($0.value.body.filter { $0 == 10 }.count))
        }
        let otherAudit = PartitionAudit(objects: otherObjects, committed: other.high, low: other.low, high: other.high)
        #expect(otherAudit.isComplete, "partition 1: \(otherAudit.findings)")
        #expect(otherAudit.storedRecords == other.high - other.low)
        // The group began partition 1 at its log start, above 0: what retention deleted before that is named
        // unchecked (in neither S3 nor Kafka), not passed over in silence.
        #expect(other.low > 0 && otherAudit.uncheckedBelow == other.low)
        let started = logs.entries.filter { $0.message.contains("no committed offset for this partition") }
        #expect(started.count == 1 && started.first?.metadata["kafka.partition"] == "1"
                    && started.first?.message.contains("offsets 0...\(other.low - 1) were deleted") == true,
                "\(started.map(\.fullText))")
        let lossKey = "topics/_pinpipe/loss/\(topic)/partition=0/\(topic)+0+0000000010.json"
        let record = try #require(objects[lossKey], "no loss record among \(objects.keys.sorted()); log \(store.log.withLock { $0 })")
        let loss = try #require(DataLoss.parse(record.body))
        #expect(loss.from == 10 && loss.to == low - 1 && loss.policy == .record)
        #expect(stats.snapshot().sum(MetricName.lostRecords) == Double(low - 10))
        #expect(stats.statusLine(roles: ["sink"]).contains("DATA LOSS: \(low - 10) records in 1 ranges"))
        // Every retained record is stored once, and the first object after the loss covers from the log start.
        let data = objects.filter { $0.key.hasPrefix("topics/\(topic)/partition=0/") }
        let stored = data.values.reduce(0) { $0 + Int($1.metadata["record-count"] ?? "0")! }
        #expect(stored == Int(high - low))
        let first = try #require(data.min { $0.key < $1.key })
        #expect(first.value.metadata["first-offset"] == "\(low)" && first.value.metadata["covers-from"] == "\(low)")
        // The group's offset moved past the loss first (a restart does not meet it again), then to the end.
        let commits = store.log.withLock { $0.filter { $0.hasPrefix("commit \(topic)[0]") } }
        #expect(commits.first == "commit \(topic)[0]@\(low)")
        #expect(commits.last == "commit \(topic)[0]@\(high)")
        // verify's view of the same objects: the loss is a finding, not a gap and not clean.
        let audit = PartitionAudit(
            objects: data.map { .init(key: $0.key, firstOffset: Int64($0.value.metadata["first-offset"]!)!,
                                      lastOffset: Int64($0.value.metadata["last-offset"]!)!,
                                      coversFrom: $0.value.metadata["covers-from"].flatMap { Int64($0) },
                                      recordCount: Int64($0.value.metadata["record-count"]!)) },
            losses: [loss.from...loss.to], committed: high, low: low, high: high, notYetStored: 0)
        #expect(audit.findings == [.loss(from: 10, to: low - 1)])
        #expect(audit.uncheckedBelow == 10)  // stored "long ago", not in this store
    }

    @Test func stopPolicyStoresTheLossRecordAndStopsWithoutMovingTheOffset() async throws {
        let (cluster, topic, group, low, _) = try await brokerThatDeletedUnreadRecords()
        defer { cluster.shutdown() }
        try #require(low > 10, "the broker kept everything (log start \(low)): the test would prove nothing")
        let store = MemoryStore()
        let committer = MemoryCommitter(store: store)
        let (error, consumer) = try await runSink(cluster, topic: topic, group: group, policy: .stop, store: store,
                                                  committer: committer, stats: PipelineStats())
        let partition = KafkaTopicPartition(topic: topic, partition: 0)
        let committedAfter = try await consumer.committed([partition], timeout: .seconds(10))[partition]
        await consumer.close()
        let stop = try #require(error as? DataLossError, "the sink did not stop for the loss: \(String(describing: error))")
        #expect(stop.message.contains("offsets 10...\(low - 1)"))
        #expect(store.objects.withLock { $0.keys.contains("topics/_pinpipe/loss/\(topic)/partition=0/\(topic)+0+0000000010.json") })
        #expect(store.objects.withLock { $0.keys.filter { $0.hasPrefix("topics/\(topic)/partition=0/") }.isEmpty })
        #expect(committedAfter == 10, "the group's offset moved past an unrecorded decision")
    }
}

/// Commits through the real group (so the broker knows the offsets) and logs like `MemoryCommitter`.
struct CommitThrough: SinkOffsetCommitter {
    let consumer: KafkaConsumer
    let log: MemoryCommitter

    func commit(_ partition: KafkaTopicPartition, offset: Int64) async throws {
        try await consumer.commit([partition: offset])
        try await log.commit(partition, offset: offset)
    }

    func committed(_ partition: KafkaTopicPartition) async throws -> Int64? {
        try await consumer.committed([partition], timeout: .seconds(10))[partition]
    }

    func logStart(_ partition: KafkaTopicPartition) async throws -> Int64? {
        try await consumer.watermarks(partition, timeout: .seconds(10)).low
    }
}
