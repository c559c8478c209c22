/// How pinpipe authenticates to the brokers (`kafka.auth`) and encrypts the connection (`kafka.tls`).
///
/// - Important: No secret lives here. The SASL password is read from `password_file` (or systemd's
///   `$CREDENTIALS_DIRECTORY/kafka_password`) when the clients start; AWS credentials come from the same chain
///   as S3's (environment, shared files with `profile`, instance profile), or from `credentials`.
public struct KafkaAuthSettings: Sendable, Equatable {
    public enum Mechanism: String, Sendable, Equatable, CaseIterable {
        /// No SASL (the default): `kafka.properties` may still configure security by hand.
        case none
        /// Amazon MSK with IAM: SASL/OAUTHBEARER with a SigV4-presigned `kafka-cluster:Connect` token.
        case awsMSKIAM = "aws_msk_iam"
        case scramSHA512 = "scram-sha-512"
        case scramSHA256 = "scram-sha-256"
        case plain

        /// librdkafka's `sasl.mechanism` for it.
        public var saslMechanism: String? {
            switch self {
            case .none: nil
            case .awsMSKIAM: "OAUTHBEARER"
            case .scramSHA512: "SCRAM-SHA-512"
            case .scramSHA256: "SCRAM-SHA-256"
            case .plain: "PLAIN"
            }
        }

        /// Whether it needs a user name and a password file.
        public var usesPassword: Bool { self == .scramSHA512 || self == .scramSHA256 || self == .plain }
    }

    public var mechanism: Mechanism = .none
    /// `aws_msk_iam`: the cluster's region (the token is signed for `kafka.<region>.amazonaws.com`).
    public var region: String?
    /// `aws_msk_iam`: shared-config profile for the AWS default chain.
    public var profile: String?
    /// `aws_msk_iam`: IMDSv2 endpoint override (as `AWS_EC2_METADATA_SERVICE_ENDPOINT`).
    public var instanceMetadataEndpoint: String?
    /// `aws_msk_iam`: static credentials; nil = the AWS default chain.
    public var staticCredentials: S3SinkSettings.StaticCredentials?
    /// SCRAM/PLAIN: the user name.
    public var username: String?
    /// SCRAM/PLAIN: the file holding the password (its whole content, one trailing newline ignored); nil =
    /// `$CREDENTIALS_DIRECTORY/kafka_password` (systemd `LoadCredential=kafka_password:...`).
    public var passwordFile: String?

    public init() {}
}

/// TLS to the brokers (`kafka.tls`). Files are PEM; `check-config` and the start-up checks read them.
public struct KafkaTLSSettings: Sendable, Equatable {
    /// TLS on. Default: on with `aws_msk_iam` (MSK's IAM listener is TLS only) or when a file is named, else off.
    public var enabled: Bool = false
    /// CA bundle that signed the brokers' certificates; nil = the system's trust store.
    public var caFile: String?
    /// Client certificate (mutual TLS), with `keyFile`.
    public var certFile: String?
    public var keyFile: String?

    public init() {}
}
