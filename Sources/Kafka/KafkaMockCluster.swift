import CRdKafka
import Logging
import Synchronization

/// librdkafka's in-memory mock cluster (real Kafka protocol on loopback ports, with fault injection), hosted
/// by a dedicated client handle in this process.
///
/// - Important: Debian's librdkafka 2.0.2 keeps only the newest 5 MiB / 100,000 message sets per partition and
///   drops older data silently; `deploy/bench/build-broker.sh` builds a library without that limit.
///   Unknown topics are auto-created (4 partitions) on a producer's metadata request; the mock has no
///   CreateTopics API.
public final class KafkaMockCluster: Sendable {
    private let client: RDKafkaHandle
    private let cluster: RDKafkaHandle
    private let context: RDKafkaClientContext
    private let destroyed = Mutex(false)
    /// Broker ids are `1...brokerCount`.
    public let brokerCount: Int
    public let bootstrapServers: String

    public init(brokers: Int, logger: Logger) throws(KafkaError) {
        guard brokers > 0 else {
            throw KafkaError(code: .invalidConfiguration, message: "a mock cluster needs at least one broker", isRetriable: false)
        }
        let context = RDKafkaClientContext(logger: logger, bootstrapServers: "")
        let rk = try RDKafkaConfiguration.makeClient(
            type: RD_KAFKA_PRODUCER, properties: [("client.id", "pinpipe-mock-cluster")], context: context)
        guard let cluster = rd_kafka_mock_cluster_new(rk, Int32(brokers)) else {
            rd_kafka_destroy(rk)
            throw KafkaError(code: .mockCluster, message: "cannot create a mock cluster of \(brokers) broker(s)", isRetriable: false)
        }
        self.client = RDKafkaHandle(rk)
        self.cluster = RDKafkaHandle(cluster)
        self.context = context
        self.brokerCount = brokers
        self.bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
        logger.info("Kafka mock cluster started", metadata: ["kafka.bootstrap": "\(bootstrapServers)", "kafka.brokers": "\(brokers)"])
    }

    public func createTopic(_ name: String, partitions: Int, replicationFactor: Int) throws(KafkaError) {
        try withCluster { mc throws(KafkaError) in
            let err = rd_kafka_mock_topic_create(mc, name, Int32(partitions), Int32(replicationFactor))
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError(err, handle: nil, context: "mock cluster cannot create topic", topic: name)
            }
        }
    }

    public func setBrokerDown(_ id: Int32) {
        try? withCluster { mc in _ = rd_kafka_mock_broker_set_down(mc, id) }
    }

    public func setBrokerUp(_ id: Int32) {
        try? withCluster { mc in _ = rd_kafka_mock_broker_set_up(mc, id) }
    }

    /// Takes every broker down (connections are closed and refused) — a full cluster outage.
    public func setAllBrokersDown() {
        for id in 1...brokerCount { setBrokerDown(Int32(id)) }
    }

    public func setAllBrokersUp() {
        for id in 1...brokerCount { setBrokerUp(Int32(id)) }
    }

    /// Simulated round-trip latency of one broker.
    public func setBrokerRoundTripTime(_ id: Int32, _ rtt: Duration) {
        try? withCluster { mc in _ = rd_kafka_mock_broker_set_rtt(mc, id, Int32(rtt.librdkafkaMilliseconds)) }
    }

    /// The next requests of `apiKey` (Kafka protocol API key, e.g. 0 = Produce) fail with these error codes,
    /// one per request, in order.
    public func pushRequestErrors(apiKey: Int16, errors: [Int32]) {
        guard !errors.isEmpty else { return }
        var codes = errors.map { rd_kafka_resp_err_t(rawValue: $0) }
        try? withCluster { mc in
            codes.withUnsafeMutableBufferPointer { buffer in
                rd_kafka_mock_push_request_errors_array(mc, apiKey, buffer.count, buffer.baseAddress)
            }
        }
    }

    /// The next request of `apiKey` that each broker receives is answered only after `delay` (on its
    /// connection, every later response waits behind it): a coordinator or leader that stops answering.
    public func delayNextRequest(apiKey: Int16, by delay: Duration) {
        try? withCluster { mc in
            for id in 1...brokerCount {
                _ = pinpipe_mock_push_request_error_rtt(
                    mc, Int32(id), apiKey, RD_KAFKA_RESP_ERR_NO_ERROR, Int32(delay.librdkafkaMilliseconds))
            }
        }
    }

    /// Stops the brokers and destroys the hosting client. Idempotent.
    public func shutdown() {
        destroyed.withLock { destroyed in
            guard !destroyed else { return }
            destroyed = true
            rd_kafka_mock_cluster_destroy(cluster.pointer)
            rd_kafka_destroy(client.pointer)
        }
        context.logger.info("Kafka mock cluster stopped", metadata: ["kafka.bootstrap": "\(bootstrapServers)"])
    }

    /// Runs `body` while the cluster is known to be alive (holding the lock `shutdown` takes).
    private func withCluster(_ body: (OpaquePointer) throws(KafkaError) -> Void) throws(KafkaError) {
        try destroyed.withLock { (destroyed: inout Bool) throws(KafkaError) -> Void in
            guard !destroyed else { throw .shutDown("mock cluster") }
            try body(cluster.pointer)
        }
    }
}
