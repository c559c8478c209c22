/// The S3 sink: bucket, credentials, batching and the optional extensions.
public struct S3SinkSettings: Sendable, Equatable {
    public var bucket: String = ""
    public var region: String = "us-east-1"
    /// Endpoint override for S3-compatible stores (e.g. `http://127.0.0.1:8333`); nil = AWS.
    public var endpoint: String?
    public var pathStyle: Bool = false
    /// Key prefix, `topics` like Confluent's sink.
    public var prefix: String = "topics"
    /// Shared-config profile for the AWS default credential chain.
    public var profile: String?
    /// Static credentials; nil uses the AWS default chain (environment, shared files, instance profile).
    public var staticCredentials: StaticCredentials?
    /// IMDSv2 endpoint override (as `AWS_EC2_METADATA_SERVICE_ENDPOINT`).
    public var instanceMetadataEndpoint: String?
    public var batch: BatchLimits = .init()
    public var multipartThreshold: Int = 64 << 20
    public var partSize: Int = 16 << 20
    /// Extension: gzip bodies, keys end in `.json.gz`.
    public var gzip: Bool = false
    /// Extension: time-based path segments from the record timestamp, e.g. `year=YYYY/month=MM/day=dd/hour=HH`.
    public var timePartitioning: String?
    public var deadLetter: DeadLetterTarget = .s3Prefix("dead-letter")
    /// Records buffered between the consumer and the sink (the bounded channel's high watermark).
    public var channelCapacity: Int = 5_000
    /// Upper bound on the bytes all partitions' batches hold (open, waiting and being stored). Over it the sink
    /// stops taking records, which pauses the consumer, and seals the largest open batch early when uploads
    /// alone cannot bring it back under.
    public var memoryLimit: Int = 24 << 20
    /// The integrity check sent with each object: "crc32c" (x-amz-checksum-crc32c) or "md5" (Content-MD5).
    public var checksum: ObjectChecksum = .crc32c
    /// Attempts per S3 request before the sink reports an outage and keeps retrying the batch.
    public var requestAttempts: Int = 6
    /// How long a revocation waits for the partitions' uploads in progress before the consumer gives them back
    /// anyway (well below Kafka's rebalance timeout, `max.poll.interval.ms`, after which the group moves on).
    public var revocationTimeout: Duration = .seconds(60)

    public init() {}

    public struct StaticCredentials: Sendable, Equatable {
        public var accessKeyID: String
        public var secretAccessKey: String
        public var sessionToken: String?

        public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
            self.accessKeyID = accessKeyID
            self.secretAccessKey = secretAccessKey
            self.sessionToken = sessionToken
        }
    }
}

/// The integrity check of stored objects.
public enum ObjectChecksum: String, Sendable, CaseIterable {
    case crc32c, md5
}

/// When a partition's open batch becomes an object.
public struct BatchLimits: Sendable, Equatable {
    public var maxRecords: Int = 10_000
    public var maxBytes: Int = 16 << 20
    public var maxAge: Duration = .seconds(60)

    public init(maxRecords: Int = 10_000, maxBytes: Int = 16 << 20, maxAge: Duration = .seconds(60)) {
        self.maxRecords = maxRecords
        self.maxBytes = maxBytes
        self.maxAge = maxAge
    }
}

/// Where records that are not valid JSON go.
public enum DeadLetterTarget: Sendable, Equatable {
    /// `<bucket>/<prefix>/<topic>/partition=<p>/<topic>+<p>+<offset>.json` with the reason in metadata.
    case s3Prefix(String)
    /// A Kafka topic, with the reason and origin in headers.
    case kafkaTopic(String)
}
