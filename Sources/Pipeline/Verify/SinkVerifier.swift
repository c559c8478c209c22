import Kafka
import Logging
import PipelineConfig
import S3

/// `pinpipe verify`: audits the bucket against the consumer group, partition by partition.
public struct SinkVerifier {
    public struct Report: Sendable {
        public var partitions: [(KafkaTopicPartition, PartitionAudit)]
        public var isClean: Bool { partitions.allSatisfy { $0.1.isClean } }
    }

    let configuration: PinpipeConfiguration
    let s3: S3Client
    let inspector: KafkaGroupInspector
    let partitionCounts: [String: Int]

    public init(configuration: PinpipeConfiguration, s3: S3Client, inspector: KafkaGroupInspector,
                partitionCounts: [String: Int]) {
        self.configuration = configuration
        self.s3 = s3
        self.inspector = inspector
        self.partitionCounts = partitionCounts
    }

    public func run() async throws -> Report {
        var result: [(KafkaTopicPartition, PartitionAudit)] = []
        let prefix = configuration.s3.prefix.isEmpty ? "" : configuration.s3.prefix + "/"
        for topic in configuration.topics {
            let partitions = (0..<(partitionCounts[topic] ?? 0)).map { KafkaTopicPartition(topic: topic, partition: Int32($0)) }
            let committed = try await inspector.committed(partitions, timeout: .seconds(10))
            let summaries = try await s3.listAllObjects(bucket: configuration.s3.bucket, prefix: "\(prefix)\(topic)/")
            var byPartition: [Int32: [PartitionAudit.StoredObject]] = [:]
            for summary in summaries {
                guard let key = ObjectKey.parse(summary.key), key.topic == topic else { continue }
                let info = try await s3.headObject(bucket: configuration.s3.bucket, key: summary.key)
                let last = info.metadata["last-offset"].flatMap(Int64.init) ?? key.startOffset
                byPartition[key.partition, default: []].append(
                    .init(key: summary.key, firstOffset: key.startOffset, lastOffset: last))
            }
            for partition in partitions {
                let marks = try await inspector.watermarks(partition, timeout: .seconds(10))
                result.append((partition, PartitionAudit(objects: byPartition[partition.partition] ?? [],
                                                         committed: committed[partition], low: marks.low,
                                                         high: marks.high)))
            }
        }
        return Report(partitions: result)
    }
}

extension SinkVerifier {
    /// Opens the clients `verify` needs from the configuration (the same credential chain as the sink).
    public static func make(configuration: PinpipeConfiguration, environment: [String: String], logger: Logger)
        async throws -> (verifier: SinkVerifier, close: @Sendable () async -> Void)
    {
        let checks = StartupChecks(configuration: configuration, environment: environment, logger: logger)
        let s3 = try await checks.checkBucket()
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(bootstrapServers: configuration.kafka.bootstrapServers,
                                                      properties: configuration.kafka.effectiveProducerProperties),
            logger: logger)
        let counts = try await producer.topicPartitionCounts(configuration.topics, timeout: .seconds(15))
        await producer.shutdown(timeout: .seconds(1))
        let inspector = try KafkaGroupInspector(bootstrapServers: configuration.kafka.bootstrapServers,
                                                groupID: configuration.kafka.groupID,
                                                properties: configuration.kafka.effectiveConsumerProperties, logger: logger)
        let verifier = SinkVerifier(configuration: configuration, s3: s3, inspector: inspector, partitionCounts: counts)
        return (verifier, { await inspector.close(); await s3.shutdown() })
    }
}
