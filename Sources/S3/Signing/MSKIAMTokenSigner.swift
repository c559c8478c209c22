import Foundation

/// The Amazon MSK IAM authentication token: a SigV4-presigned `GET https://kafka.<region>.amazonaws.com/?Action=kafka-cluster:Connect`
/// (service `kafka-cluster`, valid 900 s), base64url-encoded without padding, as AWS's `aws-msk-iam-sasl-signer`
/// libraries build it. librdkafka clients send it as their SASL/OAUTHBEARER token. Pure: no I/O, no clock.
///
/// - Important: The query is in AWS's order: `Action`, then the `X-Amz-*` authentication parameters, then
///   `X-Amz-Signature`, then an unsigned `User-Agent` naming the client (AWS's signers append theirs the same way).
///   The signature covers the canonical (sorted) query, so the order only matters for byte equality with them.
public struct MSKIAMTokenSigner: Sendable {
    /// How long a token is valid after it was signed (the signers' `X-Amz-Expires`).
    public static let validity: Int = 900
    public static let service = "kafka-cluster"
    public static let action = "kafka-cluster:Connect"

    public var region: String
    /// The unsigned `User-Agent` parameter.
    public var userAgent: String

    public init(region: String, userAgent: String = "pinpipe") {
        self.region = region
        self.userAgent = userAgent
    }

    /// A token and what librdkafka needs with it.
    public struct Token: Sendable, Equatable {
        /// base64url without padding of `url`.
        public var value: String
        /// The signed URL (it holds the session token: never log it).
        public var url: String
        /// When the broker stops accepting it: the signing time plus ``validity``, or the credentials' own expiry
        /// when that comes first (a token signed with temporary credentials dies with them).
        public var expiration: Date
        /// The access key ID (not secret), used as the SASL principal name.
        public var principal: String
    }

    public var host: String { "kafka.\(region).amazonaws.com" }

    /// Signs a token with `credentials` at `date`.
    public func token(credentials: AWSCredentials, date: Date) -> Token {
        let signer = SigV4Signer(credentials: credentials, region: region, service: Self.service)
        var parameters: [(String, String)] = [
            ("Action", Self.action),
            ("X-Amz-Algorithm", SigV4Signer.algorithm),
            ("X-Amz-Credential", "\(credentials.accessKeyID)/\(signer.credentialScope(date: date))"),
            ("X-Amz-Date", SigV4Signer.amzDate(date)),
            ("X-Amz-Expires", String(Self.validity)),
            ("X-Amz-SignedHeaders", "host"),
        ]
        if let sessionToken = credentials.sessionToken { parameters.append(("X-Amz-Security-Token", sessionToken)) }
        let query = Self.encode(parameters)
        let base = "https://\(host)/"
        let canonical = signer.canonicalRequest(
            method: "GET", url: URL(string: base + "?" + query)!, headers: [("host", host)],
            payloadSHA256: SigV4Signer.emptyPayloadSHA256)
        let signature = signer.signature(stringToSign: signer.stringToSign(canonicalRequest: canonical, date: date),
                                         date: date)
        let url = base + "?" + query + "&X-Amz-Signature=" + signature + "&" + Self.encode([("User-Agent", userAgent)])
        var expiration = date.addingTimeInterval(TimeInterval(Self.validity))
        if let credentialsExpiry = credentials.expiration, credentialsExpiry < expiration { expiration = credentialsExpiry }
        return Token(value: Self.base64URL(Array(url.utf8)), url: url, expiration: expiration,
                     principal: credentials.accessKeyID)
    }

    /// `name=value` pairs joined by `&`, each encoded once the way AWS signs them.
    static func encode(_ parameters: [(String, String)]) -> String {
        parameters.map { AWSPercentEncoding.encode($0.0) + "=" + AWSPercentEncoding.encode($0.1) }
            .joined(separator: "&")
    }

    /// RFC 4648 §5 base64url, without `=` padding.
    public static func base64URL(_ bytes: [UInt8]) -> String {
        var text = Data(bytes).base64EncodedString()
        text = text.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }
}
