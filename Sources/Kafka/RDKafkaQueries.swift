import CRdKafka

/// Blocking group and partition queries shared by the consumer and the group inspector; callers run them on
/// their own worker thread, never on the cooperative pool.
enum RDKafkaQueries {
    /// The group's committed next offsets; partitions without one are absent.
    static func committed(_ rk: RDKafkaHandle, _ partitions: [KafkaTopicPartition], timeout: Duration)
        -> Result<[KafkaTopicPartition: Int64], KafkaError>
    {
        let list = RDKafkaPartitionList.make(partitions)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_committed(rk.pointer, list, timeout.librdkafkaMilliseconds)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            return .failure(KafkaError(err, handle: rk.pointer, context: "cannot read committed offsets"))
        }
        return offsets(in: list, handle: rk, context: "committed offsets")
    }

    /// The leaders' latest offsets (high watermarks): one ListOffsets request per leader, in parallel.
    static func latestOffsets(_ rk: RDKafkaHandle, _ partitions: [KafkaTopicPartition], timeout: Duration)
        -> Result<[KafkaTopicPartition: Int64], KafkaError>
    {
        let list = latestOffsetsRequest(partitions)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let err = rd_kafka_offsets_for_times(rk.pointer, list, timeout.librdkafkaMilliseconds)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            return .failure(KafkaError(err, handle: rk.pointer, context: "cannot query watermarks"))
        }
        return offsets(in: list, handle: rk, context: "watermarks")
    }

    /// A partition list asking `rd_kafka_offsets_for_times` for the latest offsets.
    private static func latestOffsetsRequest(_ partitions: [KafkaTopicPartition])
        -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t>
    {
        RDKafkaPartitionList.make(
            partitions, offsets: Dictionary(uniqueKeysWithValues: partitions.map { ($0, Int64(RD_KAFKA_OFFSET_END)) }))
    }

    /// The list's offsets (partitions without one are absent), or its first per-partition error.
    private static func offsets(in list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>, handle rk: RDKafkaHandle,
                                context: String) -> Result<[KafkaTopicPartition: Int64], KafkaError> {
        if let error = RDKafkaPartitionList.firstError(list, handle: rk.pointer, context: context) {
            return .failure(error)
        }
        var offsets: [KafkaTopicPartition: Int64] = [:]
        for element in RDKafkaPartitionList.elements(list) where element.offset >= 0 {
            offsets[element.partition] = element.offset
        }
        return .success(offsets)
    }

    /// Low and high watermarks of a partition, asked of its leader.
    static func watermarks(_ rk: RDKafkaHandle, _ partition: KafkaTopicPartition, timeout: Duration)
        -> Result<Watermarks, KafkaError>
    {
        var low: Int64 = -1
        var high: Int64 = -1
        let err = rd_kafka_query_watermark_offsets(
            rk.pointer, partition.topic, partition.partition, &low, &high, timeout.librdkafkaMilliseconds)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            return .failure(KafkaError(err, handle: rk.pointer, context: "cannot query watermarks",
                                       topic: partition.topic, partition: partition.partition))
        }
        return .success(Watermarks(low: low, high: high))
    }
}
