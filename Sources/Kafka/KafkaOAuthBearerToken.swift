import Foundation

/// A SASL/OAUTHBEARER token for librdkafka (for Amazon MSK with IAM: a presigned `kafka-cluster:Connect` URL).
///
/// - Important: `value` is a credential: it is handed to librdkafka and never logged.
public struct KafkaOAuthBearerToken: Sendable {
    public var value: String
    /// When the broker stops accepting it; librdkafka asks for a new one at 80 % of the remaining lifetime.
    public var expiration: Date
    /// The principal name librdkafka reports with the token (not secret).
    public var principal: String

    public init(value: String, expiration: Date, principal: String) {
        self.value = value
        self.expiration = expiration
        self.principal = principal
    }
}

/// Makes a fresh token (reading credentials, which may take a network round trip to the instance metadata).
/// Every client calls it when librdkafka asks for a token: at start, before the current one expires, and after a
/// failure (librdkafka then asks again 10 s later, so a failing provider never causes a retry storm).
public typealias KafkaOAuthBearerTokenProvider = @Sendable () async throws -> KafkaOAuthBearerToken
