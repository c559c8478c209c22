import Foundation

/// Credentials from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and (optionally) `AWS_SESSION_TOKEN`.
public struct EnvironmentCredentialsProvider: AWSCredentialsProvider {
    public var environment: [String: String]

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    public func credentials() async throws(S3Error) -> AWSCredentials {
        let accessKey = environment["AWS_ACCESS_KEY_ID"].flatMap { $0.isEmpty ? nil : $0 }
        let secretKey = environment["AWS_SECRET_ACCESS_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        switch (accessKey, secretKey) {
        case (nil, nil):
            throw .credentials("environment", "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set")
        case (nil, _):
            throw .credentials("environment", "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not")
        case (_, nil):
            throw .credentials("environment", "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
        case (let accessKey?, let secretKey?):
            let token = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
            return AWSCredentials(accessKeyID: accessKey, secretAccessKey: secretKey, sessionToken: token)
        }
    }
}
