/// A consumer-group member's settings.
public struct KafkaConsumerConfiguration: Sendable {
    /// `host:port[,host:port…]`.
    public var bootstrapServers: String
    public var groupID: String
    public var topics: [String]
    /// Any librdkafka property, applied last (overrides the defaults below). Secret values are never logged.
    public var properties: [String: String] = [:]
    /// Upper bound on the records one `poll` returns.
    public var maxPollRecords: Int = 10_000
    /// Whether polls read each record's headers. Off for an application that never looks at them (the S3 sink
    /// stores values only): one librdkafka call per record fewer.
    public var readsHeaders: Bool = true
    /// `client.id` reported to the brokers.
    public var clientID: String = "pinpipe"
    /// Revocations are not applied inside the rebalance callback (which would hold librdkafka's poll thread
    /// while the application finishes its work): the callback stops fetching the partitions and queues a
    /// ``KafkaRevocation`` for ``KafkaConsumer/takeRevocations()``; the application gives them back with
    /// ``KafkaConsumer/completeRevocation(_:)``. Off: the callback applies the revocation at once.
    public var deferRevocations: Bool = false
    /// Set: SASL/OAUTHBEARER tokens come from it (`properties` then say `sasl.mechanism=OAUTHBEARER`).
    public var oauthBearer: KafkaOAuthBearerTokenProvider?

    public init(
        bootstrapServers: String, groupID: String, topics: [String], properties: [String: String] = [:],
        maxPollRecords: Int = 2_000
    ) {
        self.bootstrapServers = bootstrapServers
        self.groupID = groupID
        self.topics = topics
        self.properties = properties
        self.maxPollRecords = maxPollRecords
    }

    /// Defaults: offsets are committed only explicitly (`commit`), never stored automatically; a group without
    /// committed offsets starts from the earliest record, and a position that fell out of the log (retention
    /// deleted what the group had not read) is never silently moved: `auto.offset.reset=error` stops the
    /// partition and ``KafkaConsumer/takeOffsetResets()`` reports it. Only committed transactions are read
    /// (`isolation.level=read_committed`): aborted records and transaction markers leave offset holes. The
    /// prefetch queue is held to 1 MiB (librdkafka: 64 MiB): an application that cannot keep up gains nothing from
    /// more, and the memory is better spent on the sink's batches (on three brokers the sink's peak RSS was
    /// 104-110 MB at 4 MiB, 94 MB at 2 MiB, about 2 MB less again at 1 MiB with the same wall time, issue 15).
    /// `KafkaConsumer.wakeFetchers(_:)` keeps a small queue from stalling the fetcher.
    ///
    /// A broker holds a Fetch for at most `fetch.wait.max.ms` when none of its partitions has data: 100 ms here
    /// (librdkafka: 500). A wake-up's ListOffsets request queues behind such a Fetch, and so does the end-of-log
    /// report of a reader that has just caught up; at 500 ms the sink idled for up to a second at a time with
    /// records left on other brokers (three brokers, 3M records: 11.0/12.1/12.8 s against 10.2/10.3/10.7 s at
    /// 100 ms, issue 15). The price is an idle consumer asking each broker ten times a second instead of twice.
    var librdkafkaProperties: [(String, String)] {
        var list: [(String, String)] = [
            ("bootstrap.servers", bootstrapServers),
            ("client.id", clientID),
            ("group.id", groupID),
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
            ("auto.offset.reset", "error"),
            ("isolation.level", "read_committed"),
            // The end of a partition is reported (`KafkaConsumer.reachedEnds()`): with transactions the last offset
            // is a commit marker, never a record, so "the last record handed over" cannot tell that a reader is done.
            ("enable.partition.eof", "true"),
            ("queued.max.messages.kbytes", "1024"),
            ("fetch.wait.max.ms", "100"),
        ]
        list += properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        return list
    }
}
