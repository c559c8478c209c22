/// A failed S3 operation: what failed (operation, bucket, key), how (code, HTTP status, AWS error code and
/// request ID) and whether trying again can help.
///
/// - Important: Access denied, signature mismatch, a missing bucket or key, a bad digest and configuration
///   errors are not retriable (fail fast: a retry would get the same answer). Throttling (429, `SlowDown`),
///   5xx answers, timeouts and network errors are.
public struct S3Error: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        case accessDenied
        case signatureMismatch
        case noSuchBucket
        case noSuchKey
        case noSuchUpload
        case wrongRegion
        case clockSkew
        case throttled
        case serverError
        case timeout
        case network
        case badDigest
        case invalidRequest
        case invalidResponse
        case invalidConfiguration
        case credentials
        case cancelled
    }

    public var code: Code
    /// The S3 API operation, e.g. `PutObject`, `UploadPart`, `ListObjectsV2`.
    public var operation: String
    public var bucket: String?
    public var key: String?
    public var httpStatus: Int?
    /// The `<Code>` of S3's error document, e.g. `AccessDenied`.
    public var awsCode: String?
    public var requestID: String?
    public var message: String
    public var isRetriable: Bool

    public init(
        code: Code, operation: String, bucket: String? = nil, key: String? = nil, httpStatus: Int? = nil,
        awsCode: String? = nil, requestID: String? = nil, message: String, isRetriable: Bool? = nil
    ) {
        self.code = code
        self.operation = operation
        self.bucket = bucket
        self.key = key
        self.httpStatus = httpStatus
        self.awsCode = awsCode
        self.requestID = requestID
        self.message = message
        self.isRetriable = isRetriable ?? Self.defaultRetriable(code)
    }

    /// Whether a code is worth retrying when nothing more specific is known.
    public static func defaultRetriable(_ code: Code) -> Bool {
        switch code {
        case .throttled, .serverError, .timeout, .network: return true
        default: return false
        }
    }

    /// Classifies an HTTP error answer from its status and the `<Code>` of its error document (if any).
    public static func code(httpStatus: Int, awsCode: String?) -> Code {
        switch awsCode {
        case "AccessDenied", "InvalidAccessKeyId", "AllAccessDisabled", "AccountProblem": return .accessDenied
        case "SignatureDoesNotMatch": return .signatureMismatch
        case "NoSuchBucket": return .noSuchBucket
        case "NoSuchKey": return .noSuchKey
        case "NoSuchUpload": return .noSuchUpload
        case "PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException":
            return .wrongRegion
        case "RequestTimeTooSkewed": return .clockSkew
        case "SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequests",
            "TooManyRequestsException":
            return .throttled
        case "BadDigest", "InvalidDigest", "XAmzContentChecksumMismatch", "InvalidChecksum": return .badDigest
        case "RequestTimeout": return .timeout
        case "InternalError", "ServiceUnavailable": return .serverError
        case "ExpiredToken", "TokenRefreshRequired", "InvalidToken": return .credentials
        default: break
        }
        switch httpStatus {
        case 301, 307: return .wrongRegion
        case 403: return .accessDenied
        case 408: return .timeout
        case 429: return .throttled
        case 500...599: return .serverError
        default: return .invalidRequest
        }
    }

    /// What the operator should do next, when there is something to say.
    public var hint: String? {
        switch code {
        case .accessDenied: return "check the credentials' permissions for this bucket"
        case .signatureMismatch: return "check the secret access key and the configured region"
        case .noSuchBucket: return "create the bucket or correct the bucket name in the configuration"
        case .wrongRegion: return "set the region to the bucket's region"
        case .clockSkew: return "synchronise the host clock (NTP)"
        case .throttled: return "S3 is throttling requests; retries back off"
        case .serverError: return "the S3 service failed; retries back off"
        case .network, .timeout: return "check the endpoint and the network path to it"
        case .badDigest: return "the body did not match its checksum (Content-MD5 or x-amz-checksum)"
        case .credentials: return "configure credentials (environment, ~/.aws files or an instance profile)"
        default: return nil
        }
    }

    public var description: String {
        var text = "S3 \(operation)"
        if let bucket {
            text += " s3://\(bucket)"
            if let key { text += "/\(key)" }
        }
        text += " failed: "
        var status: [String] = []
        if let httpStatus { status.append(String(httpStatus)) }
        if let awsCode { status.append(awsCode) }
        if status.isEmpty { status.append(code.rawValue) }
        text += status.joined(separator: " ")
        if !message.isEmpty { text += " (\(message))" }
        if let hint { text += " — \(hint)" }
        if let requestID { text += " [request \(requestID)]" }
        return text
    }
}
