import Kafka
import Logging
import Synchronization
import Testing

/// A full cluster outage while producing: every record is delivered once the brokers are back, and the
/// idempotent producer writes no duplicates.
@Suite struct KafkaOutageTests {
    let logger = KafkaTestSupport.quietLogger

    @Test func allBrokersDownThenUpLosesNothingAndDuplicatesNothing() async throws {
        let cluster = try KafkaMockCluster(brokers: 3, logger: logger)
        defer { cluster.shutdown() }
        let topic = KafkaTestSupport.uniqueName("outage")
        try cluster.createTopic(topic, partitions: 3, replicationFactor: 3)
        let producer = try KafkaProducer(
            configuration: .init(bootstrapServers: cluster.bootstrapServers, maxInFlight: 1_000), logger: logger)
        let delivered = Shared<[KafkaDeliveryReport]>([])
        let failed = Shared<[KafkaError]>([])
        let count = 6_000

        let producing = Task {
            for index in 0..<count {
                try await producer.produce(topic: topic, key: Array("\(index)".utf8), value: KafkaTestSupport.value(index)) {
                    switch $0 {
                    case .success(let report): delivered.withLock { $0.append(report) }
                    case .failure(let error): failed.withLock { $0.append(error) }
                    }
                }
                if index % 500 == 0 { try await Task.sleep(for: .milliseconds(20)) }
            }
        }
        try await Task.sleep(for: .milliseconds(150))
        cluster.setAllBrokersDown()
        try await Task.sleep(for: .seconds(3))
        let stalled = producer.inFlight
        cluster.setAllBrokersUp()
        try await producing.value
        try await producer.flush(timeout: .seconds(60))
        await producer.shutdown(timeout: .seconds(5))

        #expect(stalled > 0, "records were waiting during the outage")
        #expect(failed.withLock { $0 }.isEmpty, "delivery failures: \(failed.withLock { $0.prefix(3) })")
        let reports = delivered.withLock { $0 }
        #expect(reports.count == count)
        // Offsets are unique per partition: no record was written twice.
        #expect(Set(reports.map { "\($0.partition)/\($0.offset)" }).count == count)

        // Read the log back: each record exactly once.
        let consumer = try KafkaConsumer(
            configuration: .init(
                bootstrapServers: cluster.bootstrapServers, groupID: KafkaTestSupport.uniqueName("g"), topics: [topic]),
            logger: logger)
        var messages = try await KafkaTestSupport.poll(consumer, count: count, timeout: .seconds(60))
        messages += try await consumer.poll(timeout: .seconds(1))
        await consumer.close()
        let indices = messages.compactMap { KafkaTestSupport.index(of: $0.value) }
        #expect(indices.count == count, "read \(indices.count) records for \(count) produced")
        #expect(Set(indices) == Set(0..<count))
    }
}
