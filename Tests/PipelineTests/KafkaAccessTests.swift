import Foundation
import Kafka
import PipelineConfig
import S3
import Synchronization
import Testing

@testable import Pipeline

/// What `kafka.auth`/`kafka.tls` resolve to for the clients: the security properties on top of the configured
/// ones, and for aws_msk_iam a token provider that asks the credential chain every time (so rotated temporary
/// credentials are picked up) and never outlives the credentials.
@Suite struct KafkaAccessTests {
    /// Credentials that change on every call, like a chain whose temporary credentials rotate.
    final class RotatingCredentials: AWSCredentialsProvider {
        let calls = Atomic<Int>(0)
        let expiry: Date

        init(expiry: Date) { self.expiry = expiry }

        func credentials() async throws(S3Error) -> AWSCredentials {
            let call = calls.add(1, ordering: .sequentiallyConsistent).newValue
            return AWSCredentials(accessKeyID: "AKID\(call)", secretAccessKey: "secret-\(call)",
                                  sessionToken: "session-\(call)", expiration: expiry)
        }
    }

    @Test func theMSKIAMProviderSignsWithTheCurrentCredentialsEachTime() async throws {
        let now = Date(timeIntervalSince1970: 1_733_400_000)
        let credentials = RotatingCredentials(expiry: now.addingTimeInterval(300))
        let provider = KafkaAccess.mskIAMTokenProvider(region: "us-east-1", credentials: credentials, now: { now })
        let first = try await provider()
        let second = try await provider()
        #expect(first.principal == "AKID1" && second.principal == "AKID2")
        #expect(first.value != second.value)
        // The credentials expire before the token's 900 s: the token lives as long as they do.
        #expect(first.expiration == now.addingTimeInterval(300))
        let expected = MSKIAMTokenSigner(region: "us-east-1", userAgent: "pinpipe")
            .token(credentials: AWSCredentials(accessKeyID: "AKID1", secretAccessKey: "secret-1", sessionToken: "session-1",
                                               expiration: now.addingTimeInterval(300)), date: now)
        #expect(first.value == expected.value)
    }

    @Test func securityPropertiesOverrideNothingTheyDoNotOwnAndNameTheMechanism() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kafka-pw-\(UUID().uuidString)").path
        try "pw-\(UUID().uuidString)\n".write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        var settings = KafkaSettings()
        settings.bootstrapServers = "b:9096"
        settings.properties = ["linger.ms": "20"]
        settings.auth.mechanism = .scramSHA256
        settings.auth.username = "alice"
        settings.auth.passwordFile = path
        let access = try KafkaAccess.resolve(settings, environment: [:], logger: .init(label: "test"))
        #expect(access.producerProperties["linger.ms"] == "20")
        #expect(access.producerProperties["sasl.mechanism"] == "SCRAM-SHA-256")
        #expect(access.consumerProperties["sasl.username"] == "alice")
        #expect(access.oauthBearer == nil)
        #expect(access.mechanismSummary == "scram-sha-256 (SASL_PLAINTEXT, SASL SCRAM-SHA-256 as alice)")
        #expect(!access.mechanismSummary.contains("pw-"))

        var iam = KafkaSettings()
        iam.auth.mechanism = .awsMSKIAM
        iam.auth.region = "eu-west-1"
        iam.auth.staticCredentials = .init(accessKeyID: "AKIDX", secretAccessKey: "s")
        iam.tls.enabled = true
        let iamAccess = try KafkaAccess.resolve(iam, environment: [:], logger: .init(label: "test"))
        #expect(iamAccess.oauthBearer != nil)
        #expect(iamAccess.producerConfiguration(maxInFlight: 10).oauthBearer != nil)
        #expect(iamAccess.consumerConfiguration(groupID: "g", topics: ["t"]).oauthBearer != nil)
        #expect(iamAccess.mechanismSummary.hasPrefix("aws_msk_iam (SASL_SSL, SASL OAUTHBEARER"))
    }
}
