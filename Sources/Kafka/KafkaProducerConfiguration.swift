/// How to reach the cluster and how much may be in flight.
public struct KafkaProducerConfiguration: Sendable {
    /// `host:port[,host:port…]`.
    public var bootstrapServers: String
    /// Any librdkafka property (e.g. `security.protocol`, `sasl.mechanism`, `sasl.username`, `sasl.password`
    /// for MSK), applied after the bridge's defaults so they override them. Secret values are never logged.
    public var properties: [String: String] = [:]
    /// Bound on records handed to librdkafka and not yet acknowledged; `produce` suspends at the bound.
    public var maxInFlight: Int = 100_000
    /// `client.id` reported to the brokers.
    public var clientID: String = "pinpipe"
    /// `transactional.id`: set, the producer is transactional (see `KafkaProducer.initTransactions`) and every
    /// record must be produced inside a transaction.
    public var transactionalID: String?
    /// Turns on librdkafka's `feature` debug output (a few lines per broker connection, at debug level) so that
    /// ``KafkaProducer/describeCluster(timeout:)`` can report the brokers' API versions.
    public var captureAPIVersions: Bool = false
    /// Set: SASL/OAUTHBEARER tokens come from it (`properties` then say `sasl.mechanism=OAUTHBEARER`).
    public var oauthBearer: KafkaOAuthBearerTokenProvider?

    public init(bootstrapServers: String, properties: [String: String] = [:], maxInFlight: Int = 100_000,
                transactionalID: String? = nil) {
        self.bootstrapServers = bootstrapServers
        self.properties = properties
        self.maxInFlight = maxInFlight
        self.transactionalID = transactionalID
    }

    /// The bridge's defaults followed by the caller's overrides, in the order they are applied.
    var librdkafkaProperties: [(String, String)] {
        var list: [(String, String)] = [
            ("bootstrap.servers", bootstrapServers),
            ("client.id", clientID),
            ("acks", "all"),
            ("enable.idempotence", "true"),
            ("linger.ms", "5"),
            // The in-flight window bounds the local queue already; keep librdkafka's own limit out of its way.
            ("queue.buffering.max.messages", String(max(1, min(maxInFlight, 10_000_000)))),
        ]
        if let transactionalID { list.append(("transactional.id", transactionalID)) }
        var properties = properties
        if captureAPIVersions {
            let debug = (properties["debug"].map { $0.split(separator: ",").map(String.init) } ?? []) + ["feature"]
            properties["debug"] = Array(Set(debug)).sorted().joined(separator: ",")
        }
        list += properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        return list
    }
}
