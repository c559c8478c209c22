import Gzip
import Kafka
import Logging
import PipelineConfig
import S3

/// `pinpipe verify`: audits the bucket against Kafka and the consumer group, partition by partition.
public struct SinkVerifier {
    public struct Report: Sendable {
        public var partitions: [(KafkaTopicPartition, PartitionAudit)]
        /// No gap, overlap, loss or inconsistent object anywhere.
        public var isClean: Bool { partitions.allSatisfy { $0.1.isClean } }
        /// Clean, and S3 holds every record Kafka holds.
        public var isComplete: Bool { partitions.allSatisfy { $0.1.isComplete } }
        public var notYetStored: Int64 { partitions.reduce(0) { $0 + $1.1.notYetStored } }
        /// Offsets below every partition's checked range: in neither S3 nor Kafka (see `PartitionAudit.uncheckedBelow`).
        public var uncheckedOffsets: Int64 { partitions.reduce(0) { $0 + $1.1.uncheckedBelow } }
        public var partitionsWithUncheckedOffsets: Int { partitions.filter { $0.1.uncheckedBelow > 0 }.count }
        public var lostRecords: Int64 {
            partitions.reduce(0) { total, entry in
                total + entry.1.findings.reduce(0) { sum, finding in
                    if case .loss(let from, let to) = finding { return sum + (to - from + 1) }
                    return sum
                }
            }
        }
    }

    let configuration: PinpipeConfiguration
    let s3: S3Client
    let inspector: KafkaGroupInspector
    let partitionCounts: [String: Int]
    /// Read every body and count its lines against the metadata.
    let deep: Bool

    public init(configuration: PinpipeConfiguration, s3: S3Client, inspector: KafkaGroupInspector,
                partitionCounts: [String: Int], deep: Bool = false) {
        self.configuration = configuration
        self.s3 = s3
        self.inspector = inspector
        self.partitionCounts = partitionCounts
        self.deep = deep
    }

    public func run() async throws -> Report {
        var result: [(KafkaTopicPartition, PartitionAudit)] = []
        let prefix = configuration.s3.prefix.isEmpty ? "" : configuration.s3.prefix + "/"
        let bucket = configuration.s3.bucket
        for topic in configuration.topics {
            let partitions = (0..<(partitionCounts[topic] ?? 0)).map { KafkaTopicPartition(topic: topic, partition: Int32($0)) }
            let committed = try await inspector.committed(partitions, timeout: .seconds(10))
            var byPartition: [Int32: [PartitionAudit.StoredObject]] = [:]
            for summary in try await s3.listAllObjects(bucket: bucket, prefix: "\(prefix)\(topic)/") {
                guard let key = ObjectKey.parse(summary.key), key.topic == topic else { continue }
                byPartition[key.partition, default: []].append(try await storedObject(summary.key, keyOffset: key.startOffset))
            }
            var losses: [Int32: [ClosedRange<Int64>]] = [:]
            let lossPrefix = DataLoss.keyPrefix(s3Prefix: configuration.s3.prefix, topic: topic)
            for summary in try await s3.listAllObjects(bucket: bucket, prefix: lossPrefix) {
                let body = try await s3.getObject(bucket: bucket, key: summary.key).body
                guard let loss = DataLoss.parse(body), loss.partition.topic == topic else {
                    throw VerifyError(message: "\(summary.key) is not a pinpipe loss record")
                }
                losses[loss.partition.partition, default: []].append(loss.from...loss.to)
            }
            for partition in partitions {
                let marks = try await inspector.watermarks(partition, timeout: .seconds(10))
                let objects = byPartition[partition.partition] ?? []
                let partial = PartitionAudit(objects: objects, losses: losses[partition.partition] ?? [],
                                             committed: committed[partition], low: marks.low, high: marks.high)
                // Offsets up to the high watermark may be transaction markers rather than records: read them.
                var pending: Int64 = 0
                if partial.storedEnd < marks.high {
                    pending = try await inspector.countRecords(partition, from: max(partial.storedEnd, marks.low),
                                                               below: marks.high, timeout: .seconds(60))
                }
                result.append((partition, PartitionAudit(objects: objects, losses: losses[partition.partition] ?? [],
                                                         committed: committed[partition], low: marks.low,
                                                         high: marks.high, notYetStored: pending)))
            }
        }
        return Report(partitions: result)
    }

    /// One data object's key and metadata (and with `deep`, its line count).
    private func storedObject(_ key: String, keyOffset: Int64) async throws -> PartitionAudit.StoredObject {
        let bucket = configuration.s3.bucket
        let metadata: [String: String]
        var lines: Int64?
        if deep {
            let object = try await s3.getObject(bucket: bucket, key: key)
            metadata = object.metadata
            var body = object.body
            if key.hasSuffix(".gz") {
                guard let plain = GzipEncoder.decompress(body) else {
                    throw VerifyError(message: "\(key): the body is not valid gzip")
                }
                body = plain
            }
            lines = Int64(body.reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) })
            if let last = body.last, last != UInt8(ascii: "\n") { lines! += 1 }
        } else {
            metadata = try await s3.headObject(bucket: bucket, key: key).metadata
        }
        let number = { (name: String) in metadata[name].flatMap(Int64.init) }
        return PartitionAudit.StoredObject(
            key: key, keyOffset: keyOffset, firstOffset: number("first-offset") ?? keyOffset,
            lastOffset: number("last-offset") ?? keyOffset, coversFrom: number("covers-from"),
            recordCount: number("record-count"), deadLetterCount: number("dead-letter-count"), lineCount: lines)
    }
}

/// `verify` met something in the bucket it cannot read.
public struct VerifyError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

extension SinkVerifier {
    /// Opens the clients `verify` needs from the configuration (the same credential chain as the sink).
    public static func make(configuration: PinpipeConfiguration, environment: [String: String], deep: Bool = false,
                            logger: Logger) async throws -> (verifier: SinkVerifier, close: @Sendable () async -> Void)
    {
        let checks = StartupChecks(configuration: configuration, environment: environment, logger: logger)
        let access = try KafkaAccess.resolve(configuration.kafka, environment: environment, logger: logger)
        let s3 = try await checks.checkBucket()
        let producer = try KafkaProducer(configuration: access.producerConfiguration(maxInFlight: 100_000), logger: logger)
        let counts = try await producer.topicPartitionCounts(configuration.topics, timeout: .seconds(15))
        await producer.shutdown(timeout: .seconds(1))
        let inspector = try access.groupInspector(logger: logger)
        let verifier = SinkVerifier(configuration: configuration, s3: s3, inspector: inspector, partitionCounts: counts,
                                    deep: deep)
        return (verifier, { await inspector.close(); await s3.shutdown() })
    }
}
