import Kafka
import Logging
import Synchronization
import Testing

/// Whether the loaded librdkafka's mock cluster gives transactions their meaning (commit/abort markers, last
/// stable offset, aborted-transaction lists, fencing): Debian's does not, the library that
/// `deploy/bench/build-broker.sh` builds does. Run these tests with
/// `LD_LIBRARY_PATH=.dev/librdkafka-big/lib swift test --filter KafkaTransactionTests` to use it.
enum TransactionalMock {
    private static let cached = Mutex<Bool?>(nil)

    static func writesMarkers() async throws -> Bool {
        if let known = cached.withLock({ $0 }) { return known }
        let logger = KafkaTestSupport.quietLogger
        let cluster = try KafkaMockCluster(brokers: 1, logger: logger)
        defer { cluster.shutdown() }
        let topic = KafkaTestSupport.uniqueName("probe")
        try cluster.createTopic(topic, partitions: 1, replicationFactor: 1)
        let producer = try KafkaProducer(
            configuration: .init(bootstrapServers: cluster.bootstrapServers, transactionalID: "probe"), logger: logger)
        try await producer.initTransactions(timeout: .seconds(30))
        try producer.beginTransaction()
        _ = try await producer.send(topic: topic, key: nil, value: [1])
        try await producer.commitTransaction(timeout: .seconds(30))
        await producer.shutdown(timeout: .seconds(5))
        let contents = try await KafkaTopicReader(bootstrapServers: cluster.bootstrapServers, logger: logger)
            .readAll(topic: topic, timeout: .seconds(30))
        let markers = contents.partitions[0]?.highWatermark == 2
        cached.withLock { $0 = markers }
        return markers
    }
}

@Suite struct KafkaTransactionTests {
    let logger = KafkaTestSupport.quietLogger

    func transactionalProducer(_ cluster: KafkaMockCluster, id: String) throws -> KafkaProducer {
        try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers, transactionalID: id),
                          logger: logger)
    }

    func read(_ cluster: KafkaMockCluster, _ topic: String, committed: Bool = true) async throws -> KafkaTopicReader.Contents {
        try await KafkaTopicReader(bootstrapServers: cluster.bootstrapServers, readCommitted: committed, logger: logger)
            .readAll(topic: topic, timeout: .seconds(30))
    }

    func values(_ contents: KafkaTopicReader.Contents) -> [Int] {
        contents.records.compactMap { KafkaTestSupport.index(of: $0.value) }.sorted()
    }

    @Test func committedRecordsAreReadBackWithoutAGroup() async throws {
        let cluster = try KafkaMockCluster(brokers: 3, logger: logger)
        defer { cluster.shutdown() }
        let topic = KafkaTestSupport.uniqueName("txn-commit")
        try cluster.createTopic(topic, partitions: 3, replicationFactor: 3)
        let producer = try transactionalProducer(cluster, id: KafkaTestSupport.uniqueName("tid"))
        #expect(producer.isTransactional)
        try await producer.initTransactions(timeout: .seconds(30))
        try producer.beginTransaction()
        _ = try await KafkaTestSupport.produceAll(producer, topic: topic, 0..<300)
        try await producer.commitTransaction(timeout: .seconds(30))
        await producer.shutdown(timeout: .seconds(5))
        let contents = try await read(cluster, topic)
        #expect(values(contents) == Array(0..<300))
        #expect(contents.partitions.count == 3)
        // The reader stops at the end: the position of each partition is its high watermark.
        for (_, end) in contents.partitions { #expect(end.position == end.highWatermark) }
        // A topic that does not exist reads as empty (and is not created).
        #expect(try await read(cluster, KafkaTestSupport.uniqueName("absent")).records.isEmpty)
    }

    @Test func aPlainProducerCannotUseTransactions() async throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: logger)
        defer { cluster.shutdown() }
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers), logger: logger)
        #expect(throws: KafkaError.self) { try producer.beginTransaction() }
        await producer.shutdown(timeout: .seconds(5))
    }

    @Test(.enabled("needs the transactional mock (deploy/bench/build-broker.sh)") { try await TransactionalMock.writesMarkers() })
    func abortedRecordsAreInvisibleToReadCommitted() async throws {
        let cluster = try KafkaMockCluster(brokers: 3, logger: logger)
        defer { cluster.shutdown() }
        let topic = KafkaTestSupport.uniqueName("txn-abort")
        try cluster.createTopic(topic, partitions: 2, replicationFactor: 3)
        let producer = try transactionalProducer(cluster, id: KafkaTestSupport.uniqueName("tid"))
        try await producer.initTransactions(timeout: .seconds(30))
        for (range, commit) in [(0..<50, true), (50..<100, false), (100..<150, true)] {
            try producer.beginTransaction()
            _ = try await KafkaTestSupport.produceAll(producer, topic: topic, range)
            if commit {
                try await producer.commitTransaction(timeout: .seconds(30))
            } else {
                try await producer.abortTransaction(timeout: .seconds(30))
            }
        }
        await producer.shutdown(timeout: .seconds(5))
        #expect(values(try await read(cluster, topic)) == Array(0..<50) + Array(100..<150))
        #expect(values(try await read(cluster, topic, committed: false)) == Array(0..<150))
    }

    @Test(.enabled("needs the transactional mock (deploy/bench/build-broker.sh)") { try await TransactionalMock.writesMarkers() })
    func aSecondInstanceWithTheSameIDFencesTheFirst() async throws {
        let cluster = try KafkaMockCluster(brokers: 3, logger: logger)
        defer { cluster.shutdown() }
        let topic = KafkaTestSupport.uniqueName("txn-fence")
        try cluster.createTopic(topic, partitions: 1, replicationFactor: 3)
        let id = KafkaTestSupport.uniqueName("tid")
        let zombie = try transactionalProducer(cluster, id: id)
        try await zombie.initTransactions(timeout: .seconds(30))
        try zombie.beginTransaction()
        _ = try await KafkaTestSupport.produceAll(zombie, topic: topic, 0..<20)
        // The new instance takes over: the zombie's open transaction is aborted, its epoch fenced.
        let successor = try transactionalProducer(cluster, id: id)
        try await successor.initTransactions(timeout: .seconds(30))
        do {
            try await zombie.commitTransaction(timeout: .seconds(30))
            Issue.record("the fenced instance committed")
        } catch {
            #expect(error.isFatal && error.isFenced, "\(error)")
            #expect(!error.isRetriable && !error.requiresAbort)
            #expect(error.description.contains("transactional.id \"\(id)\" took over"), "\(error)")
        }
        try successor.beginTransaction()
        _ = try await KafkaTestSupport.produceAll(successor, topic: topic, 20..<30)
        try await successor.commitTransaction(timeout: .seconds(30))
        await zombie.shutdown(timeout: .seconds(1))
        await successor.shutdown(timeout: .seconds(5))
        #expect(values(try await read(cluster, topic)) == Array(20..<30))
    }

    /// The two facts the sink needs about librdkafka 2.0.2 and a read_committed consumer of a transactional
    /// topic: (a) the commit marker takes an offset, so the high watermark is one past the marker, not one past
    /// the last record; (b) the position moves past the final marker, but only on the poll after the one that
    /// returned the last record (the marker is handled inside librdkafka's queue when the application polls).
    @Test(.enabled("needs the transactional mock (deploy/bench/build-broker.sh)") { try await TransactionalMock.writesMarkers() })
    func commitMarkersTakeAnOffsetAndThePositionMovesPastThemOnTheNextPoll() async throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: logger)
        defer { cluster.shutdown() }
        let topic = KafkaTestSupport.uniqueName("txn-marker")
        try cluster.createTopic(topic, partitions: 1, replicationFactor: 1)
        let producer = try transactionalProducer(cluster, id: KafkaTestSupport.uniqueName("tid"))
        try await producer.initTransactions(timeout: .seconds(30))
        for range in [0..<3, 3..<5] {
            try producer.beginTransaction()
            _ = try await KafkaTestSupport.produceAll(producer, topic: topic, range)
            try await producer.commitTransaction(timeout: .seconds(30))
        }
        await producer.shutdown(timeout: .seconds(5))
        // Records at 0, 1, 2, marker 3, records 4, 5, marker 6: high watermark 7.
        let contents = try await read(cluster, topic)
        #expect(contents.records.map(\.offset) == [0, 1, 2, 4, 5])
        #expect(contents.partitions[0] == .init(lastRecordOffset: 5, highWatermark: 7, position: 7))

        let consumer = try KafkaConsumer(
            configuration: .init(bootstrapServers: cluster.bootstrapServers, groupID: KafkaTestSupport.uniqueName("g"),
                                 topics: [topic], properties: ["isolation.level": "read_committed"]
                                    .merging(KafkaTestSupport.fastGroupProperties) { $1 },
                                 maxPollRecords: 1),
            logger: logger)
        var messages = try await KafkaTestSupport.waitForAssignment(consumer)
        messages += try await KafkaTestSupport.poll(consumer, count: 5 - messages.count)
        #expect(messages.map(\.offset) == [0, 1, 2, 4, 5])
        let partition = KafkaTopicPartition(topic: topic, partition: 0)
        #expect(try await consumer.highWatermarks([partition], timeout: .seconds(10)) == [partition: 7])
        // Right after the poll that returned offset 5 the position is 6 (lag 1: the marker) ...
        #expect(consumer.lag() == [partition: 1])
        // ... and the next poll, which returns nothing, moves it past the marker.
        #expect(try await consumer.poll(timeout: .milliseconds(500)).isEmpty)
        #expect(consumer.lag() == [partition: 0])
        await consumer.close()
    }

    /// Debian's mock: transactions are accepted but have no effect on what read_committed consumers see.
    @Test(.enabled("documents Debian's stock mock") { try await !TransactionalMock.writesMarkers() })
    func theStockMockShowsAbortedRecordsAndWritesNoMarkers() async throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: logger)
        defer { cluster.shutdown() }
        let topic = KafkaTestSupport.uniqueName("txn-stock")
        try cluster.createTopic(topic, partitions: 1, replicationFactor: 1)
        let producer = try transactionalProducer(cluster, id: KafkaTestSupport.uniqueName("tid"))
        try await producer.initTransactions(timeout: .seconds(30))
        try producer.beginTransaction()
        _ = try await KafkaTestSupport.produceAll(producer, topic: topic, 0..<3)
        try await producer.abortTransaction(timeout: .seconds(30))
        await producer.shutdown(timeout: .seconds(5))
        let contents = try await read(cluster, topic)
        #expect(values(contents) == [0, 1, 2])
        #expect(contents.partitions[0] == .init(lastRecordOffset: 2, highWatermark: 3, position: 3))
    }
}
