import Foundation
import Kafka
import Logging
import Synchronization
import Testing

/// Measures `produce` throughput (enqueue + broker acknowledgement) against an in-process mock cluster.
/// It reports records/s and checks only correctness (every record acknowledged), never timing.
/// `PINPIPE_KAFKA_BENCH_RECORDS` sets the record count (default 100,000; the brief's figure is 500,000).
@Suite struct KafkaProducerBenchmark {
    @Test func produceThroughput() async throws {
        let records = ProcessInfo.processInfo.environment["PINPIPE_KAFKA_BENCH_RECORDS"].flatMap(Int.init) ?? 100_000
        let logger = KafkaTestSupport.quietLogger
        let cluster = try KafkaMockCluster(brokers: 1, logger: logger)
        defer { cluster.shutdown() }
        let topic = KafkaTestSupport.uniqueName("bench")
        try cluster.createTopic(topic, partitions: 6, replicationFactor: 1)
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers), logger: logger)
        _ = try await producer.send(topic: topic, key: nil, value: [0])  // connections and metadata are warm

        let value = [UInt8](repeating: UInt8(ascii: "v"), count: 600)
        let acknowledged = Shared<Int>(0)
        let failed = Shared<Int>(0)
        let start = ContinuousClock.now
        for index in 0..<records {
            try await producer.produce(topic: topic, key: Array(String(index).utf8), value: value) {
                if case .success = $0 { acknowledged.withLock { $0 += 1 } } else { failed.withLock { $0 += 1 } }
            }
        }
        let enqueued = ContinuousClock.now - start
        try await producer.flush(timeout: .seconds(300))
        let elapsed = ContinuousClock.now - start
        await producer.shutdown(timeout: .seconds(5))

        #expect(acknowledged.value == records)
        #expect(failed.value == 0)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let rate = Int(Double(records) / seconds)
        print("KafkaProducerBenchmark: \(records) records x 600 B: enqueued in \(enqueued), all acknowledged in \(elapsed) = \(rate) records/s")
    }
}
