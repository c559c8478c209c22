import Foundation
import Kafka
import Logging
import Pipeline
import PipelineConfig
import Testing
import TestSupport

/// The source producer against an in-process librdkafka mock cluster whose brokers all go down mid-run.
@Suite struct BrokerOutageTests {
    @Test func allBrokersDownForSecondsLosesNothingAndTheProducerResumes() async throws {
        let harness = try PipelineHarness("brokerdown")
        let cluster = try KafkaMockCluster(brokers: 3, logger: Logger(label: "test.mock"))
        defer { cluster.shutdown() }
        for name in ["pin", "geo", "user"] {
            try cluster.createTopic("\(harness.prefix).\(name)", partitions: 3, replicationFactor: 3)
        }
        try harness.writeConfig(roles: "produce", fetchSize: 500)
        var configuration = try PinpipeConfiguration.load(file: harness.configPath)
        configuration.kafka.bootstrapServers = cluster.bootstrapServers
        configuration.kafka.createTopics = false
        let runtime = PipelineRuntime(
            configuration: configuration, environment: [:], once: true, logger: Logger(label: "test.pipeline"),
            onReady: {
                // Every broker goes away as soon as the dependencies checked out, for five seconds.
                cluster.setAllBrokersDown()
                Task {
                    try? await Task.sleep(for: .seconds(5))
                    cluster.setAllBrokersUp()
                }
            })
        let started = ContinuousClock.now
        try await runtime.run()
        #expect(ContinuousClock.now - started >= .seconds(5), "the run cannot end before the brokers came back")
        // Idempotent, acknowledged delivery: each partition's log holds exactly the rows, no loss, no duplicate.
        let inspector = try KafkaGroupInspector(bootstrapServers: cluster.bootstrapServers, groupID: "inspect",
                                                logger: Logger(label: "test.inspect"))
        for name in ["pin", "geo", "user"] {
            var total: Int64 = 0
            for partition in 0..<3 {
                let marks = try await inspector.watermarks(
                    KafkaTopicPartition(topic: "\(harness.prefix).\(name)", partition: Int32(partition)), timeout: .seconds(10))
                total += marks.high - marks.low
            }
            #expect(total == 11_153, "\(name): \(total) records in Kafka")
        }
        await inspector.close()
    }
}
