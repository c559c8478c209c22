import Kafka
import Testing

@Suite struct KafkaTopicReaderTests {
    let logger = KafkaTestSupport.quietLogger

    /// A topic with data in some partitions only (a state topic's usual shape): every record is read, and every
    /// partition has an end, the empty ones (known empty from their watermarks, never fetched) included.
    @Test(arguments: [false, true])
    func readsEveryRecordAndEndsEveryPartition(readCommitted: Bool) async throws {
        let cluster = try KafkaMockCluster(brokers: 3, logger: logger)
        defer { cluster.shutdown() }
        let topic = KafkaTestSupport.uniqueName("reader")
        try cluster.createTopic(topic, partitions: 4, replicationFactor: 1)
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers), logger: logger)
        for (partition, count) in [(1, 3), (3, 2)] {
            for index in 0..<count {
                try await producer.produce(topic: topic, partition: Int32(partition), key: nil,
                                           value: Array("\(partition)-\(index)".utf8)) { _ in }
            }
        }
        try await producer.flush(timeout: .seconds(10))
        await producer.shutdown(timeout: .seconds(5))
        let contents = try await KafkaTopicReader(bootstrapServers: cluster.bootstrapServers, readCommitted: readCommitted,
                                                  logger: logger).readAll(topic: topic, timeout: .seconds(30))
        #expect(contents.records.map { String(decoding: $0.value, as: UTF8.self) }.sorted() == ["1-0", "1-1", "1-2", "3-0", "3-1"])
        #expect(contents.partitions.keys.sorted() == [0, 1, 2, 3])
        #expect(contents.partitions[0] == .init(lastRecordOffset: nil, highWatermark: 0, position: 0))
        #expect(contents.partitions[2] == .init(lastRecordOffset: nil, highWatermark: 0, position: 0))
        #expect(contents.partitions[1]?.lastRecordOffset == 2)
        #expect(contents.partitions[1]?.highWatermark == 3)
        #expect(contents.partitions[3]?.lastRecordOffset == 1)
    }

    @Test func aMissingTopicReadsAsEmpty() async throws {
        let cluster = try KafkaMockCluster(brokers: 1, logger: logger)
        defer { cluster.shutdown() }
        let contents = try await KafkaTopicReader(bootstrapServers: cluster.bootstrapServers, logger: logger)
            .readAll(topic: KafkaTestSupport.uniqueName("absent"), timeout: .seconds(30))
        #expect(contents.records.isEmpty && contents.partitions.isEmpty)
    }
}
