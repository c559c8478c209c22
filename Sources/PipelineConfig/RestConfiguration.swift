/// The Kafka REST Proxy v2-compatible ingest endpoint (`rest:`), served when `roles` lists `rest`.
public struct RestConfiguration: Sendable, Equatable {
    /// How clients prove who they are.
    public enum Authentication: String, Sendable, Equatable, CaseIterable {
        /// Anyone who reaches the listener may produce (keep it on loopback or behind a proxy).
        case none
        /// HTTP basic authentication against `credentialsFile`.
        case basic
    }

    /// Where the endpoint listens (the REST Proxy's own default port).
    public var listen = MetricsConfiguration.Address(host: "127.0.0.1", port: 8082)
    /// Topics writable besides the pipeline's own three (`<topic_prefix>.pin`, `.geo`, `.user`).
    public var topics: [String] = []
    /// A request body larger than this is refused with 413 (and nothing is produced).
    public var maxBodyBytes: Int = 1 << 20
    /// Records in one request, at most.
    public var maxRecords: Int = 1000
    /// One record's key plus value, at most (Kafka's default `message.max.bytes` is about 1 MB).
    public var maxRecordBytes: Int = 1_000_000
    /// Records accepted and not yet acknowledged, over all requests: the memory bound of the endpoint.
    public var maxInFlight: Int = 10_000
    /// How long a request may wait for room among `maxInFlight` before it is answered with 50003 (retriable).
    public var queueTimeout: Duration = .seconds(5)
    /// How long Kafka may take to acknowledge a record (librdkafka `message.timeout.ms`); a record not
    /// acknowledged in time gets its own 50003 in the reply.
    public var produceTimeout: Duration = .seconds(30)
    /// Connections served at once; more are closed on accept.
    public var maxConnections: Int = 256
    /// A connection without a request for this long is closed (also bounds sending a request head).
    public var idleTimeout: Duration = .seconds(30)
    /// A request's body must arrive within this long after its head, or the connection is closed.
    public var requestTimeout: Duration = .seconds(10)
    public var authentication: Authentication = .none
    /// The users file for basic authentication; nil = `$CREDENTIALS_DIRECTORY/rest_users.yaml`
    /// (systemd `LoadCredential=rest_users.yaml:...`).
    public var credentialsFile: String?

    public init() {}

    /// The topics the endpoint may write: the pipeline's (in table order), then the allow list.
    public func writableTopics(pipelineTopics: [String]) -> [String] {
        var seen = Set<String>()
        return (pipelineTopics + topics).filter { seen.insert($0).inserted }
    }
}
