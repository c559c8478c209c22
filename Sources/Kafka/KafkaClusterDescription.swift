/// What the cluster says about itself, for the start-up log and `check-config`.
///
/// - Important: The Kafka protocol has no field for a broker's software version. What a broker does report is
///   the range of versions it supports for each API (ApiVersions), which is what ``apiVersions`` holds
///   (captured from librdkafka's `feature` debug output); ``brokerVersionSummary`` says so rather than guessing a
///   release from it.
public struct KafkaClusterDescription: Sendable, Equatable {
    public struct Broker: Sendable, Equatable, CustomStringConvertible {
        public var id: Int32
        public var host: String
        public var port: Int32
        public var description: String { "\(id)@\(host):\(port)" }
    }

    /// `rd_kafka_clusterid`: nil when the broker reports none (Metadata below v2).
    public var clusterID: String?
    /// nil when the broker names none.
    public var controllerID: Int32?
    public var brokers: [Broker]
    /// API name → `min..max` as the first broker that answered ApiVersions reported it.
    public var apiVersions: [String: String]

    /// One line: how many APIs, and the ranges of the ones that tell a broker generation apart.
    public var brokerVersionSummary: String {
        guard !apiVersions.isEmpty else { return "not reported (no ApiVersions answer captured)" }
        let keys = ["Produce", "Fetch", "Metadata", "ApiVersions", "CreateTopics", "InitProducerId", "DescribeCluster"]
        let shown = keys.compactMap { name in apiVersions[name].map { "\(name) v\($0)" } }
        return "ApiVersions: \(apiVersions.count) APIs (\(shown.joined(separator: ", "))); Kafka reports no software version"
    }
}
