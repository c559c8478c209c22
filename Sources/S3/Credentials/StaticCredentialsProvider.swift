/// Fixed credentials, e.g. from the configuration file or a test.
public struct StaticCredentialsProvider: AWSCredentialsProvider {
    public var value: AWSCredentials

    public init(_ credentials: AWSCredentials) {
        self.value = credentials
    }

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.value = AWSCredentials(accessKeyID: accessKeyID, secretAccessKey: secretAccessKey, sessionToken: sessionToken)
    }

    public func credentials() async throws(S3Error) -> AWSCredentials {
        value
    }
}
