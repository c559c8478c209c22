import Foundation
import AsyncHTTPClient
import Logging
import Testing
import TestSupport

@testable import S3

@Suite struct CredentialProviderTests {
    @Test func environmentCredentials() async throws {
        let full = EnvironmentCredentialsProvider(environment: [
            "AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "env-secret", "AWS_SESSION_TOKEN": "env-token",
        ])
        let credentials = try await full.credentials()
        #expect(credentials == AWSCredentials(accessKeyID: "AKIAENV", secretAccessKey: "env-secret", sessionToken: "env-token"))

        let half = EnvironmentCredentialsProvider(environment: ["AWS_ACCESS_KEY_ID": "AKIAENV"])
        let error = await #expect(throws: S3Error.self) { _ = try await half.credentials() }
        #expect(error?.code == .credentials)
        #expect(error?.message == "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
    }

    @Test func descriptionAndReflectionNeverShowSecrets() {
        let credentials = AWSCredentials(
            accessKeyID: "AKIAVISIBLE", secretAccessKey: "SUPERSECRETVALUE", sessionToken: "SESSIONTOKENVALUE")
        var dumped = ""
        dump(credentials, to: &dumped)
        for text in [credentials.description, "\(credentials)", String(reflecting: credentials), dumped] {
            #expect(text.contains("AKIAVISIBLE"))
            #expect(!text.contains("SUPERSECRETVALUE"))
            #expect(!text.contains("SESSIONTOKENVALUE"))
        }
    }

    /// A temp directory with a shared credentials file (two profiles) and a config file (`[profile x]`).
    func writeProfiles() throws -> (dir: URL, credentials: String, config: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pinpipe-s3-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let credentials = dir.appendingPathComponent("credentials").path
        let config = dir.appendingPathComponent("config").path
        try """
            # shared credentials
            [default]
            aws_access_key_id = AKIADEFAULT
            aws_secret_access_key = default-secret

            [work]
            aws_access_key_id=AKIAWORK
            aws_secret_access_key=work-secret  # trailing comment
            aws_session_token = work-token
            s3 =
              max_concurrent_requests = 4

            [broken]
            aws_access_key_id = AKIABROKEN
            """.write(toFile: credentials, atomically: true, encoding: .utf8)
        try """
            [default]
            region = us-west-2

            [profile x]
            region = eu-west-2
            aws_access_key_id = AKIAX
            aws_secret_access_key = x-secret

            [sso-session corp]
            sso_region = us-east-1

            [profile rolebased]
            role_arn = arn:aws:iam::123456789012:role/r
            source_profile = default
            """.write(toFile: config, atomically: true, encoding: .utf8)
        return (dir, credentials, config)
    }

    @Test func sharedFilesWithTwoProfilesAndAConfigProfile() async throws {
        let files = try writeProfiles()
        defer { try? FileManager.default.removeItem(at: files.dir) }
        func provider(_ profile: String) -> ProfileCredentialsProvider {
            ProfileCredentialsProvider(profile: profile, credentialsFile: files.credentials, configFile: files.config)
        }
        #expect(try await provider("default").credentials() == AWSCredentials(accessKeyID: "AKIADEFAULT", secretAccessKey: "default-secret"))
        #expect(
            try await provider("work").credentials()
                == AWSCredentials(accessKeyID: "AKIAWORK", secretAccessKey: "work-secret", sessionToken: "work-token"))
        #expect(try await provider("x").credentials() == AWSCredentials(accessKeyID: "AKIAX", secretAccessKey: "x-secret"))
        #expect(try provider("x").region() == "eu-west-2")
        #expect(try provider("default").region() == "us-west-2")
        #expect(try provider("work").region() == nil)

        let broken = await #expect(throws: S3Error.self) { _ = try await provider("broken").credentials() }
        #expect(broken?.message == "\(files.credentials) line 14: profile 'broken' has aws_access_key_id but no aws_secret_access_key")
        let role = await #expect(throws: S3Error.self) { _ = try await provider("rolebased").credentials() }
        #expect(role?.message.contains("\(files.config) line 12") == true)
        let missing = await #expect(throws: S3Error.self) { _ = try await provider("nope").credentials() }
        #expect(missing?.message == "profile 'nope' is in neither \(files.credentials) nor \(files.config)")
    }

    @Test func environmentSelectsFilesAndProfile() async throws {
        let files = try writeProfiles()
        defer { try? FileManager.default.removeItem(at: files.dir) }
        let provider = ProfileCredentialsProvider(environment: [
            "HOME": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": files.credentials, "AWS_CONFIG_FILE": files.config,
            "AWS_PROFILE": "work",
        ])
        #expect(provider.profile == "work")
        #expect(try await provider.credentials().accessKeyID == "AKIAWORK")
        let explicit = ProfileCredentialsProvider(profile: "x", environment: ["HOME": files.dir.path, "AWS_PROFILE": "work"])
        #expect(explicit.profile == "x")
        #expect(explicit.credentialsFile == files.dir.path + "/.aws/credentials")
    }

    @Test func malformedFileNamesFileAndLine() throws {
        let error = #expect(throws: S3Error.self) {
            _ = try AWSProfileFile.parse("[default]\naws_access_key_id = A\nthis line is wrong\n", path: "/tmp/c", isConfigFile: false)
        }
        #expect(error?.message == "/tmp/c line 3: expected 'key = value' or '[section]'")
        let outside = #expect(throws: S3Error.self) {
            _ = try AWSProfileFile.parse("aws_access_key_id = A\n", path: "/tmp/c", isConfigFile: false)
        }
        #expect(outside?.message == "/tmp/c line 1: setting outside any [profile] section")
    }

    @Test func chainPrefersEnvironmentThenProfileAndRemembersTheWinner() async throws {
        let files = try writeProfiles()
        defer { try? FileManager.default.removeItem(at: files.dir) }
        let capture = LogCapture()
        let httpClient = HTTPClientFactory.make()
        let base = [
            "HOME": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": files.credentials, "AWS_CONFIG_FILE": files.config,
            "AWS_EC2_METADATA_DISABLED": "true",
        ]
        let envChain = AWSCredentialChain.default(
            environment: base.merging(["AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "env-secret-value"]) { $1 },
            httpClient: httpClient, logger: capture.logger())
        #expect(try await envChain.credentials().accessKeyID == "AKIAENV")
        #expect(envChain.sourceName == "environment")

        let profileChain = AWSCredentialChain.default(profile: "work", environment: base, httpClient: httpClient, logger: capture.logger())
        #expect(try await profileChain.credentials().accessKeyID == "AKIAWORK")
        #expect(profileChain.sourceName == "profile work")
        #expect(try await profileChain.credentials().accessKeyID == "AKIAWORK")

        #expect(capture.text.contains("AKIAENV"))
        #expect(!capture.text.contains("env-secret-value"))
        #expect(!capture.text.contains("work-secret"))
        #expect(!capture.text.contains("work-token"))
        try await httpClient.shutdown()
    }

    @Test func chainWithNothingConfiguredListsWhatItTried() async throws {
        let httpClient = HTTPClientFactory.make()
        let chain = AWSCredentialChain.default(
            environment: ["HOME": "/nonexistent", "AWS_EC2_METADATA_DISABLED": "TRUE"], httpClient: httpClient,
            logger: LogCapture().logger())
        let error = await #expect(throws: S3Error.self) { _ = try await chain.credentials() }
        #expect(error?.code == .credentials)
        #expect(error?.isRetriable == false)
        #expect(
            error?.message
                == "no AWS credentials found; tried environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set; "
                + "profile default: neither /nonexistent/.aws/credentials nor /nonexistent/.aws/config exists; "
                + "instance metadata: disabled by AWS_EC2_METADATA_DISABLED=true")
        #expect(chain.sourceName == nil)
        try await httpClient.shutdown()
    }

    @Test func refreshPolicyDecisions() {
        let policy = CredentialsRefreshPolicy(refreshBefore: .seconds(300))
        let now = Date(timeIntervalSince1970: 1_000_000)
        func creds(expiringIn seconds: Double?) -> AWSCredentials {
            AWSCredentials(accessKeyID: "a", secretAccessKey: "s", expiration: seconds.map { now.addingTimeInterval($0) })
        }
        #expect(policy.needsRefresh(nil, now: now))
        #expect(!policy.needsRefresh(creds(expiringIn: nil), now: now))
        #expect(!policy.needsRefresh(creds(expiringIn: 301), now: now))
        #expect(policy.needsRefresh(creds(expiringIn: 299), now: now))
        #expect(policy.isUsable(creds(expiringIn: 1), now: now))
        #expect(!policy.isUsable(creds(expiringIn: -1), now: now))
    }
}
