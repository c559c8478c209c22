import NIOCore

/// One S3 HTTP request before signing.
struct S3Request: Sendable {
    var operation: String
    var method: String
    var bucket: String?
    var key: String?
    var query: [(String, String)] = []
    var headers: [(String, String)] = []
    /// The body, already in a ByteBuffer so that retries resend it without copying.
    var body: ByteBuffer?
    var payloadSHA256: String = SigV4Signer.emptyPayloadSHA256
    /// Whether the answer has a body worth reading (false for HEAD).
    var readsBody: Bool = true
    /// The most bytes of body to accept.
    var maxResponseBytes: Int = 16 << 20

    init(operation: String, method: String, bucket: String?, key: String? = nil) {
        self.operation = operation
        self.method = method
        self.bucket = bucket
        self.key = key
    }
}
