import CRdKafka

/// A librdkafka object pointer (`rd_kafka_t`, `rd_kafka_topic_t`, `rd_kafka_mock_cluster_t`) that is shared
/// between the owning client and its threads.
///
/// `@unchecked Sendable` because: librdkafka documents its public API on these objects as thread-safe (every
/// call locks internally), and each owner destroys the object only after every thread that uses it has
/// stopped, so the pointer never dangles while shared. The pointer never leaves the `Kafka` module.
struct RDKafkaHandle: @unchecked Sendable, Hashable {
    let pointer: OpaquePointer
    init(_ pointer: OpaquePointer) { self.pointer = pointer }
}
