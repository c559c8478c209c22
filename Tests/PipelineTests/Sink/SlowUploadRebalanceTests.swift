import Foundation
import Kafka
import Logging
import NIOCore
import PipelineConfig
import Synchronization
import Systemd
import Testing

@testable import Pipeline

/// A rebalance while an upload is slower than `session.timeout.ms`: the revocation reaches the sink through the
/// channel, behind the records; librdkafka's poll thread keeps polling (it is never held in the rebalance
/// callback), the member stays in the group and commits the slow object, and only then gives its partitions back.
/// Every record ends up in the bucket exactly once.
///
/// Needs a broker whose group coordinator follows Kafka's rules during a rebalance (heartbeats keep a member,
/// commits of the current generation are accepted, the join waits for live members): the test broker that
/// `deploy/bench/build-broker.sh` builds (`LD_LIBRARY_PATH=.dev/librdkafka-big/lib`). Debian's mock evicts a
/// member after `session.timeout.ms` of a rebalance, which no real Kafka cluster does.
@Suite(.serialized) struct SlowUploadRebalanceTests {
    static let logger: Logger = {
        var logger = Logger(label: "test.slow-rebalance")
        logger.logLevel = .error
        return logger
    }()

    static var testBroker: Bool {
        ProcessInfo.processInfo.environment["LD_LIBRARY_PATH"]?.contains("librdkafka-big") == true
    }

    /// One bucket shared by both members: last write of a key wins, like S3; every put is logged in order.
    final class Bucket: Sendable {
        struct Put: Sendable {
            var member: String
            var key: String
            var started: ContinuousClock.Instant
            var finished: ContinuousClock.Instant
        }
        let objects = Mutex<[String: (body: [UInt8], metadata: [String: String])]>([:])
        let puts = Mutex<[Put]>([])
        /// The first data upload of each partition by member "a" takes this long.
        let slow = Mutex<Duration?>(nil)
        let slowPartitions = Mutex<Set<String>>([])
        let slowPuts = Mutex<[Put]>([])
        let slowStarted = Mutex<ContinuousClock.Instant?>(nil)
    }

    struct MemberStore: SinkObjectStore {
        let member: String
        let bucket: Bucket

        func put(key: String, body: ByteBuffer, contentEncoding: String?, metadata: [String: String]) async throws {
            let started = ContinuousClock.now
            var slow: Duration?
            if member == "a", !key.contains("_pinpipe"), let partition = SlowUploadRebalanceTests.partition(of: key),
               bucket.slowPartitions.withLock({ $0.insert(partition).inserted }) {
                slow = bucket.slow.withLock { $0 }
            }
            if let slow {
                bucket.slowStarted.withLock { $0 = $0 ?? started }
                try await Task.sleep(for: slow)
            }
            bucket.objects.withLock { $0[key] = (Array(body.readableBytesView), metadata) }
            let put = Bucket.Put(member: member, key: key, started: started, finished: .now)
            bucket.puts.withLock { $0.append(put) }
            if slow != nil { bucket.slowPuts.withLock { $0.append(put) } }
        }
    }

    /// Commits through the group; remembers what was committed when, and what failed.
    final class Commits: Sendable {
        let log = Mutex<[(member: String, partition: KafkaTopicPartition, offset: Int64, at: ContinuousClock.Instant)]>([])
        let failures = Mutex<[String]>([])
    }

    struct GroupCommitter: SinkOffsetCommitter {
        let member: String
        let consumer: KafkaConsumer
        let commits: Commits

        func commit(_ partition: KafkaTopicPartition, offset: Int64) async throws {
            do {
                try await consumer.commit([partition: offset])
                commits.log.withLock { $0.append((member, partition, offset, .now)) }
            } catch {
                commits.failures.withLock { $0.append("\(member) \(partition)@\(offset): \(error)") }
                throw error
            }
        }

        func committed(_ partition: KafkaTopicPartition) async throws -> Int64? {
            try await consumer.committed([partition], timeout: .seconds(10))[partition]
        }
    }

    final class Member: Sendable {
        let name: String
        let consumer: KafkaConsumer
        let shutdown = ShutdownSignal()
        let running = Mutex<Task<Void, any Error>?>(nil)

        init(name: String, cluster: KafkaMockCluster, topic: String, group: String, batch: Int, bucket: Bucket,
             commits: Commits) throws {
            self.name = name
            let configuration = KafkaConsumerConfiguration(
                bootstrapServers: cluster.bootstrapServers, groupID: group, topics: [topic],
                properties: ["session.timeout.ms": "6000", "heartbeat.interval.ms": "500"])
            let box = EventBox()
            // The topic consumer creates the member with its rebalance callback (revocations deferred into the
            // channel); the test only observes the events.
            let context = ActorContext(logger: SlowUploadRebalanceTests.logger, shutdown: shutdown)
            let topicConsumer = try TopicConsumer(configuration: configuration, context: context,
                                                  onRebalance: { box.append($0) })
            consumer = topicConsumer.consumer
            self.box = box
            var settings = S3SinkSettings()
            settings.bucket = "b"
            settings.batch = BatchLimits(maxRecords: batch, maxBytes: 4 << 20, maxAge: .seconds(120))
            let sink = S3Sink(settings: settings, objectStore: MemberStore(member: name, bucket: bucket),
                              committer: GroupCommitter(member: name, consumer: consumer, commits: commits),
                              deadLetter: MemoryDeadLetters(), context: context)
            let (channel, elements) = BoundedChannel<SinkInput>.make(low: 2_000, high: 4_000) { $0.records.count }
            running.withLock {
                $0 = Task {
                    async let consumed: Void = topicConsumer.run(into: channel)
                    try await sink.run(input: elements)
                    try await consumed
                }
            }
        }

        let box: EventBox

        func stop() async throws {
            shutdown.trigger()
            try await running.withLock { $0 }?.value
            await consumer.close()
        }
    }

    final class EventBox: Sendable {
        let events = Mutex<[(event: KafkaRebalanceEvent, at: ContinuousClock.Instant)]>([])
        func append(_ event: KafkaRebalanceEvent) { events.withLock { $0.append((event, .now)) } }
        var revocations: [ContinuousClock.Instant] {
            events.withLock { $0.compactMap { if case .revoked = $0.event { $0.at } else { nil } } }
        }
        var assignments: [[KafkaTopicPartition]] {
            events.withLock { $0.compactMap { if case .assigned(let p) = $0.event { p } else { nil } } }
        }
    }

    static func partition(of key: String) -> String? {
        key.split(separator: "/").first { $0.hasPrefix("partition=") }.map(String.init)
    }

    @Test(.enabled(if: testBroker, "needs the test broker (LD_LIBRARY_PATH=.dev/librdkafka-big/lib)"))
    func anUploadSlowerThanTheSessionTimeoutAtARebalanceLosesAndDuplicatesNothing() async throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: Self.logger)
        defer { cluster.shutdown() }
        let topic = "slow-\(UInt32.random(in: 0...UInt32.max)).pin"
        let group = "slow-group-\(UInt32.random(in: 0...UInt32.max))"
        try cluster.createTopic(topic, partitions: 4, replicationFactor: 1)
        let total = 2_400
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers),
                                         logger: Self.logger)
        for index in 0..<total {
            try await producer.produce(topic: topic, key: Array("\(index)".utf8),
                                       value: Array("{\"i\":\(index)}".utf8)) { _ in }
        }
        try await producer.flush(timeout: .seconds(30))
        await producer.shutdown(timeout: .seconds(5))

        let bucket = Bucket()
        let commits = Commits()
        let slow = Duration.seconds(10)  // session.timeout.ms is 6 s
        bucket.slow.withLock { $0 = slow }
        // Every partition's first upload by member a is slow, so whichever partitions b gets, some of them move
        // while a's object of them is on its way. Different batch sizes: an object of one member never coincides with an object of the other, so a late
        // or repeated object shows as an overlap instead of overwriting an identical one.
        let a = try Member(name: "a", cluster: cluster, topic: topic, group: group, batch: 100, bucket: bucket,
                           commits: commits)
        var deadline = ContinuousClock.now + .seconds(30)
        while bucket.slowStarted.withLock({ $0 }) == nil, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        _ = try #require(bucket.slowStarted.withLock { $0 }, "member a never uploaded")
        let b = try Member(name: "b", cluster: cluster, topic: topic, group: group, batch: 70, bucket: bucket,
                           commits: commits)

        // Both run until every record is stored (the open batches roll when the members stop).
        func storedValues() -> [String] {
            bucket.objects.withLock { objects in
                objects.filter { $0.key.contains("/partition=") && !$0.key.contains("_pinpipe") }.values.flatMap {
                    String(decoding: $0.body, as: UTF8.self).split(separator: "\n").map(String.init)
                }
            }
        }
        deadline = ContinuousClock.now + .seconds(90)
        while ContinuousClock.now < deadline {
            if bucket.slowPuts.withLock({ $0.count }) == 4, !b.box.assignments.isEmpty,
               a.box.assignments.count >= 2 || b.box.assignments.contains(where: { $0.count == 4 }) { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        try await Task.sleep(for: .seconds(3))
        try await a.stop()
        try await b.stop()

        // The fault happened: a revocation reached member a while its upload was in flight, and the upload took
        // longer than the session timeout.
        let slowPuts = bucket.slowPuts.withLock { $0 }
        #expect(slowPuts.count == 4, "member a's first upload of each partition: \(slowPuts.map(\.key))")
        let bPartitions = Set(b.box.assignments.flatMap { $0 }.map { "partition=\($0.partition)" })
        #expect(!bPartitions.isEmpty, "member b never got partitions")
        for put in slowPuts {
            #expect(put.finished - put.started >= .seconds(6), "slower than session.timeout.ms")
            let revokedDuringUpload = a.box.revocations.contains { $0 > put.started && $0 < put.finished }
            #expect(revokedDuringUpload, "no revocation reached member a during its slow upload of \(put.key)")
            // Member a stayed in the group: it committed the slow object after the upload, before giving the
            // partition back (to b, for some of them).
            let committed = commits.log.withLock { $0 }.contains {
                $0.member == "a" && "partition=\($0.partition.partition)" == Self.partition(of: put.key) && $0.at >= put.finished
            }
            #expect(committed, "member a could not commit \(put.key): \(commits.failures.withLock { $0 })")
        }
        #expect(slowPuts.contains { Self.partition(of: $0.key).map(bPartitions.contains) == true },
                "no partition moved to b while a's upload of it was slow")

        // Exactly once, read from the bodies: every record once, none twice, none missing.
        let values = storedValues()
        var seen: [String: Int] = [:]
        for value in values { seen[value, default: 0] += 1 }
        let expected = Set((0..<total).map { "{\"i\":\($0)}" })
        #expect(Set(seen.keys) == expected, "missing: \(expected.subtracting(seen.keys).count)")
        #expect(seen.values.allSatisfy { $0 == 1 }, "\(seen.filter { $0.value > 1 }.count) records stored twice")
        #expect(values.count == total)
        // And by the objects' offsets: per partition, ranges that neither overlap nor leave a gap.
        let ranges = bucket.objects.withLock { objects in
            objects.filter { !$0.key.contains("_pinpipe") }.map { ($0.key, $0.value.metadata) }
        }
        for partition in 0..<4 {
            let mine = ranges.filter { $0.0.contains("/partition=\(partition)/") }.compactMap { entry -> ClosedRange<Int64>? in
                guard let first = entry.1["first-offset"].flatMap(Int64.init),
                      let last = entry.1["last-offset"].flatMap(Int64.init) else { return nil }
                return first...last
            }.sorted { $0.lowerBound < $1.lowerBound }
            var next: Int64 = 0
            for range in mine {
                #expect(range.lowerBound == next, "partition \(partition): \(mine)")
                next = range.upperBound + 1
            }
        }
    }
}
