import Foundation
import Kafka
import Logging
import PipelineConfig
import S3

/// How every Kafka client of pinpipe connects: the configuration's properties plus what `kafka.auth` and
/// `kafka.tls` stand for (the SASL password read from its file, TLS files checked), and for `aws_msk_iam` the
/// OAUTHBEARER token provider (the MSK IAM token signed with the AWS credential chain).
///
/// - Important: Resolved once per process at start-up; it holds the SASL password, so it is never logged (its
///   ``mechanismSummary`` is what logs show).
public struct KafkaAccess: Sendable {
    public let settings: KafkaSettings
    public let producerProperties: [String: String]
    public let consumerProperties: [String: String]
    public let oauthBearer: KafkaOAuthBearerTokenProvider?

    /// Reads the password file and the TLS files and builds the token provider. Errors name the file and key.
    public static func resolve(_ settings: KafkaSettings, environment: [String: String], logger: Logger) throws
        -> KafkaAccess
    {
        try KafkaSecurityFiles.checkTLS(settings.tls)
        var warnings: [String] = []
        let password = try KafkaSecurityFiles.password(settings.auth, environment: environment, warnings: &warnings)
        for warning in warnings { logger.warning("\(warning)") }
        var oauthBearer: KafkaOAuthBearerTokenProvider?
        if settings.auth.mechanism == .awsMSKIAM, let region = settings.auth.region {
            let credentials = AWSCredentialsSetup.provider(
                staticCredentials: settings.auth.staticCredentials, profile: settings.auth.profile,
                instanceMetadataEndpoint: settings.auth.instanceMetadataEndpoint, environment: environment,
                logger: logger)
            oauthBearer = mskIAMTokenProvider(region: region, credentials: credentials)
        }
        return KafkaAccess(settings: settings, password: password, oauthBearer: oauthBearer)
    }

    /// Without `kafka.auth`/`kafka.tls` files to read (tests, and configurations that set none).
    public init(plain settings: KafkaSettings) {
        self.init(settings: settings, password: nil, oauthBearer: nil)
    }

    init(settings: KafkaSettings, password: String?, oauthBearer: KafkaOAuthBearerTokenProvider?) {
        self.settings = settings
        let security = settings.securityProperties(password: password)
        self.producerProperties = settings.effectiveProducerProperties.merging(security) { _, managed in managed }
        self.consumerProperties = settings.effectiveConsumerProperties.merging(security) { _, managed in managed }
        self.oauthBearer = oauthBearer
    }

    /// A token provider for Amazon MSK's IAM authentication: credentials from `credentials` (asked every time,
    /// so rotated temporary credentials are picked up), signed now, valid 900 s or until the credentials expire.
    public static func mskIAMTokenProvider(region: String, credentials: any AWSCredentialsProvider,
                                           now: @escaping @Sendable () -> Date = { Date() })
        -> KafkaOAuthBearerTokenProvider
    {
        let signer = MSKIAMTokenSigner(region: region, userAgent: "pinpipe")
        return {
            let token = signer.token(credentials: try await credentials.credentials(), date: now())
            return KafkaOAuthBearerToken(value: token.value, expiration: token.expiration, principal: token.principal)
        }
    }

    /// One line for logs and `check-config`: the mechanism, the security protocol and who authenticates.
    public var mechanismSummary: String {
        let protocolName = producerProperties["security.protocol"]?.uppercased() ?? "PLAINTEXT"
        switch settings.auth.mechanism {
        case .awsMSKIAM:
            return "aws_msk_iam (\(protocolName), SASL OAUTHBEARER with MSK IAM tokens for region \(settings.auth.region ?? "?"))"
        case .scramSHA512, .scramSHA256, .plain:
            return "\(settings.auth.mechanism.rawValue) (\(protocolName), SASL \(settings.auth.mechanism.saslMechanism ?? "") "
                + "as \(settings.auth.username ?? "?"))"
        case .none:
            if let mechanism = producerProperties["sasl.mechanism"] {
                return "\(mechanism) from kafka.properties (\(protocolName))"
            }
            return settings.tls.enabled ? "none (SSL, no SASL)" : "none (\(protocolName))"
        }
    }

    public func producerConfiguration(maxInFlight: Int, transactionalID: String? = nil) -> KafkaProducerConfiguration {
        var configuration = KafkaProducerConfiguration(
            bootstrapServers: settings.bootstrapServers, properties: producerProperties, maxInFlight: maxInFlight,
            transactionalID: transactionalID)
        configuration.oauthBearer = oauthBearer
        return configuration
    }

    public func consumerConfiguration(groupID: String, topics: [String]) -> KafkaConsumerConfiguration {
        var configuration = KafkaConsumerConfiguration(
            bootstrapServers: settings.bootstrapServers, groupID: groupID, topics: topics, properties: consumerProperties)
        configuration.oauthBearer = oauthBearer
        return configuration
    }

    public func topicReader(readCommitted: Bool = true, logger: Logger) -> KafkaTopicReader {
        KafkaTopicReader(bootstrapServers: settings.bootstrapServers, properties: consumerProperties,
                         readCommitted: readCommitted, oauthBearer: oauthBearer, logger: logger)
    }

    public func groupInspector(logger: Logger) throws(KafkaError) -> KafkaGroupInspector {
        try KafkaGroupInspector(bootstrapServers: settings.bootstrapServers, groupID: settings.groupID,
                                properties: consumerProperties, oauthBearer: oauthBearer, logger: logger)
    }
}
