import AsyncHTTPClient
import Logging
import PipelineConfig
import S3

/// The AWS credentials a section of the configuration names: static keys, or the default chain (environment,
/// shared files with `profile`, instance profile with an optional IMDS endpoint). S3 and MSK IAM share it.
enum AWSCredentialsSetup {
    static func provider(
        staticCredentials: S3SinkSettings.StaticCredentials?, profile: String?, instanceMetadataEndpoint: String?,
        environment: [String: String], logger: Logger
    ) -> any AWSCredentialsProvider {
        if let fixed = staticCredentials {
            return StaticCredentialsProvider(accessKeyID: fixed.accessKeyID, secretAccessKey: fixed.secretAccessKey,
                                             sessionToken: fixed.sessionToken)
        }
        var environment = environment
        if let instanceMetadataEndpoint { environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = instanceMetadataEndpoint }
        return AWSCredentialChain.default(profile: profile, environment: environment, httpClient: HTTPClient.shared,
                                          logger: logger)
    }
}
