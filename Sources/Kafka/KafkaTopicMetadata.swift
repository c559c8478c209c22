import CRdKafka

/// One topic as cluster metadata describes it: its partitions, each with leader, replicas and in-sync replicas.
public struct KafkaTopicMetadata: Sendable, Equatable {
    public struct Partition: Sendable, Equatable {
        public var id: Int32
        public var leader: Int32
        public var replicas: [Int32]
        public var inSyncReplicas: [Int32]

        public init(id: Int32, leader: Int32, replicas: [Int32], inSyncReplicas: [Int32]) {
            self.id = id
            self.leader = leader
            self.replicas = replicas
            self.inSyncReplicas = inSyncReplicas
        }
    }

    public var name: String
    public var partitions: [Partition]

    public init(name: String, partitions: [Partition]) {
        self.name = name
        self.partitions = partitions
    }
}

extension KafkaProducer {
    /// Every topic of the cluster (without auto-creating any), by name. Runs off the cooperative pool.
    public func clusterTopics(timeout: Duration) async throws(KafkaError) -> [String: KafkaTopicMetadata] {
        guard !state.closed.load(ordering: .sequentiallyConsistent) else { throw .shutDown("metadata") }
        let rk = handle
        let bootstrap = configuration.bootstrapServers
        let result = await admin.run { () -> Result<[String: KafkaTopicMetadata], KafkaError> in
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let err = rd_kafka_metadata(rk.pointer, 1, nil, &metadata, timeout.librdkafkaMilliseconds)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
                return .failure(KafkaError(
                    err, handle: rk.pointer, context: "no broker of \(bootstrap) answered a metadata request within \(timeout)"))
            }
            defer { rd_kafka_metadata_destroy(metadata) }
            var topics: [String: KafkaTopicMetadata] = [:]
            for index in 0..<Int(metadata.pointee.topic_cnt) {
                let topic = metadata.pointee.topics[index]
                guard topic.err == RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
                let name = String(cString: topic.topic)
                let partitions = (0..<Int(topic.partition_cnt)).map { p in
                    let partition = topic.partitions[p]
                    return KafkaTopicMetadata.Partition(
                        id: partition.id, leader: partition.leader,
                        replicas: (0..<Int(partition.replica_cnt)).map { partition.replicas[$0] },
                        inSyncReplicas: (0..<Int(partition.isr_cnt)).map { partition.isrs[$0] })
                }.sorted { $0.id < $1.id }
                topics[name] = KafkaTopicMetadata(name: name, partitions: partitions)
            }
            return .success(topics)
        }
        guard let result else { throw .shutDown("metadata") }
        return try result.get()
    }
}
