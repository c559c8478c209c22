import CRdKafka

/// Conversions between Swift partition collections and `rd_kafka_topic_partition_list_t`.
enum RDKafkaPartitionList {
    /// A new list the caller must destroy with `rd_kafka_topic_partition_list_destroy`.
    static func make(_ partitions: [KafkaTopicPartition], offsets: [KafkaTopicPartition: Int64] = [:])
        -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t>
    {
        let list = rd_kafka_topic_partition_list_new(Int32(max(partitions.count, 1)))!
        for partition in partitions {
            let element = rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition)!
            if let offset = offsets[partition] { element.pointee.offset = offset }
        }
        return list
    }

    static func elements(_ list: UnsafePointer<rd_kafka_topic_partition_list_t>?)
        -> [(partition: KafkaTopicPartition, offset: Int64, error: rd_kafka_resp_err_t)]
    {
        guard let list, let elems = list.pointee.elems else { return [] }
        return (0..<Int(list.pointee.cnt)).map { index in
            let element = elems[index]
            return (
                KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition),
                element.offset, element.err
            )
        }
    }

    static func partitions(_ list: UnsafePointer<rd_kafka_topic_partition_list_t>?) -> [KafkaTopicPartition] {
        elements(list).map(\.partition)
    }

    /// The first per-partition error of a list, as a `KafkaError`.
    static func firstError(
        _ list: UnsafePointer<rd_kafka_topic_partition_list_t>, handle: OpaquePointer, context: String
    ) -> KafkaError? {
        for element in elements(list) where element.error != RD_KAFKA_RESP_ERR_NO_ERROR {
            return KafkaError(
                element.error, handle: handle, context: context, topic: element.partition.topic,
                partition: element.partition.partition)
        }
        return nil
    }
}
