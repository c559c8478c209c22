import AsyncHTTPClient
import Foundation
import Logging
import Synchronization

/// The AWS default chain: environment variables, then the shared profile files, then the EC2 instance
/// profile (IMDSv2). The first source that yields wins and is remembered; later calls go straight to it (so
/// an instance profile's own cache and refresh apply).
///
/// - Important: When no source yields, the error lists every source tried and why it failed.
public final class AWSCredentialChain: AWSCredentialsProvider {
    public struct Source: Sendable {
        public var name: String
        public var provider: any AWSCredentialsProvider

        public init(name: String, provider: any AWSCredentialsProvider) {
            self.name = name
            self.provider = provider
        }
    }

    public let sources: [Source]
    let logger: Logger
    private let winner = Mutex<Int?>(nil)

    public init(sources: [Source], logger: Logger) {
        self.sources = sources
        self.logger = logger
    }

    /// Environment → profile files → instance metadata, configured from `environment`.
    public static func `default`(
        profile: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment,
        httpClient: HTTPClient, logger: Logger
    ) -> AWSCredentialChain {
        let profileProvider = ProfileCredentialsProvider(profile: profile, environment: environment)
        return AWSCredentialChain(
            sources: [
                Source(name: "environment", provider: EnvironmentCredentialsProvider(environment: environment)),
                Source(name: "profile \(profileProvider.profile)", provider: profileProvider),
                Source(
                    name: "instance metadata",
                    provider: InstanceMetadataCredentialsProvider(environment: environment, httpClient: httpClient, logger: logger)),
            ],
            logger: logger)
    }

    /// The name of the source that yielded, once one has.
    public var sourceName: String? {
        winner.withLock { $0 }.map { sources[$0].name }
    }

    public func credentials() async throws(S3Error) -> AWSCredentials {
        if let index = winner.withLock({ $0 }) {
            return try await sources[index].provider.credentials()
        }
        var failures: [(String, S3Error)] = []
        for (index, source) in sources.enumerated() {
            do {
                let credentials = try await source.provider.credentials()
                winner.withLock { $0 = index }
                logger.info(
                    "AWS credentials found", metadata: ["aws.source": "\(source.name)", "aws.access_key_id": "\(credentials.accessKeyID)"])
                return credentials
            } catch {
                logger.debug("AWS credentials source yielded nothing", metadata: ["aws.source": "\(source.name)", "error": "\(error.message)"])
                failures.append((source.name, error))
            }
        }
        let tried = failures.map { "\($0.0): \($0.1.message)" }.joined(separator: "; ")
        throw .credentials(
            "chain", "no AWS credentials found; tried \(tried)",
            retriable: failures.contains { $0.1.isRetriable })
    }
}
