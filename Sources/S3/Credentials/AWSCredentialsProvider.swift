/// A source of AWS credentials. Providers that hold temporary credentials refresh them before they expire,
/// so callers ask for credentials before every request.
public protocol AWSCredentialsProvider: Sendable {
    func credentials() async throws(S3Error) -> AWSCredentials
}

extension S3Error {
    /// A credentials failure of `source` (e.g. `environment`), not worth retrying unless said otherwise.
    static func credentials(_ source: String, _ message: String, retriable: Bool = false) -> S3Error {
        S3Error(code: .credentials, operation: "GetCredentials(\(source))", message: message, isRetriable: retriable)
    }
}
