import AsyncHTTPClient
import Foundation
import Logging
import Synchronization
import Testing
import TestSupport

@testable import S3

/// A fake IMDSv2 endpoint (token PUT with TTL check, role listing, credentials JSON with Expiration) that is
/// also a fake S3 endpoint verifying SigV4 with the credentials it handed out.
final class FakeIMDS: Sendable {
    struct State {
        var tokens: Set<String> = []
        var tokenPuts = 0
        var credentialGets = 0
        var rejectedWithoutToken = 0
        var issued: [String: String] = [:]  // access key -> secret
        var sessionTokens: Set<String> = []
        var signatureFailures: [String] = []
    }

    let state = Mutex(State())
    /// Lifetime of the n-th credentials handed out (1-based); the last entry repeats.
    let lifetimes: [TimeInterval]

    init(lifetimes: [TimeInterval]) {
        self.lifetimes = lifetimes
    }

    func revokeTokens() { state.withLock { $0.tokens.removeAll() } }

    func handle(_ request: FakeHTTPRequest) -> FakeHTTPResponse {
        let base = "/latest/meta-data/iam/security-credentials/"
        switch (request.method, request.path) {
        case ("PUT", "/latest/api/token"):
            guard let ttl = request.header("X-aws-ec2-metadata-token-ttl-seconds").flatMap(Int.init), (1...21_600).contains(ttl)
            else { return FakeHTTPResponse(status: 400) }
            let token = state.withLock { state -> String in
                state.tokenPuts += 1
                let token = "TOKEN-\(state.tokenPuts)-\(UUID().uuidString)"
                state.tokens.insert(token)
                return token
            }
            return FakeHTTPResponse(status: 200, headers: [("X-aws-ec2-metadata-token-ttl-seconds", String(ttl))], body: token)
        case ("GET", base), ("GET", base + "pinpipe-role"):
            let authorized = state.withLock { state -> Bool in
                guard let token = request.header("X-aws-ec2-metadata-token"), state.tokens.contains(token) else {
                    state.rejectedWithoutToken += 1
                    return false
                }
                return true
            }
            guard authorized else { return FakeHTTPResponse(status: 401) }
            if request.path == base { return FakeHTTPResponse(status: 200, body: "pinpipe-role") }
            let (n, key, secret, token) = state.withLock { state -> (Int, String, String, String) in
                state.credentialGets += 1
                let n = state.credentialGets
                let (key, secret, token) = ("ASIAFAKE\(n)", "imds-secret-\(n)-\(UUID().uuidString)", "imds-session-\(n)")
                state.issued[key] = secret
                state.sessionTokens.insert(token)
                return (n, key, secret, token)
            }
            let lifetime = lifetimes[min(n, lifetimes.count) - 1]
            let expiration = Date().addingTimeInterval(lifetime).formatted(Date.ISO8601FormatStyle())
            return FakeHTTPResponse(
                status: 200,
                body: """
                    {"Code":"Success","LastUpdated":"2026-01-01T00:00:00Z","Type":"AWS-HMAC","AccessKeyId":"\(key)",
                     "SecretAccessKey":"\(secret)","Token":"\(token)","Expiration":"\(expiration)"}
                    """)
        default:
            // The fake S3 side: accept only correctly signed requests carrying a session token we issued.
            let secrets = state.withLock { $0.issued }
            if let failure = SigV4Verifier.verify(request, secrets: secrets) {
                state.withLock { $0.signatureFailures.append(failure) }
                return FakeHTTPResponse(status: 403, body: "<Error><Code>SignatureDoesNotMatch</Code><Message>\(failure)</Message></Error>")
            }
            let knownToken = state.withLock { $0.sessionTokens.contains(request.header("x-amz-security-token") ?? "") }
            guard knownToken else {
                return FakeHTTPResponse(status: 403, body: "<Error><Code>InvalidToken</Code><Message>unknown token</Message></Error>")
            }
            return FakeHTTPResponse(status: 200, headers: [("ETag", "\"signed-ok\"")])
        }
    }
}

@Suite struct InstanceMetadataCredentialsProviderTests {
    @Test func fetchesWithTokenAndRefreshesNearExpiry() async throws {
        let imds = FakeIMDS(lifetimes: [120, 3600])  // the first credentials expire inside the 5-minute margin
        let server = try await FakeHTTPServer.start { imds.handle($0) }
        let httpClient = HTTPClientFactory.make()
        let capture = LogCapture()
        let provider = InstanceMetadataCredentialsProvider(
            endpoint: server.url, environment: [:], httpClient: httpClient, logger: capture.logger())

        let first = try await provider.credentials()
        #expect(first.accessKeyID == "ASIAFAKE1")
        #expect(first.sessionToken == "imds-session-1")
        let expiration = try #require(first.expiration)
        #expect(abs(expiration.timeIntervalSinceNow - 120) < 5)

        let second = try await provider.credentials()  // near expiry: refreshed
        #expect(second.accessKeyID == "ASIAFAKE2")
        let third = try await provider.credentials()  // an hour left: cached
        #expect(third.accessKeyID == "ASIAFAKE2")

        let state = imds.state.withLock { $0 }
        #expect(state.credentialGets == 2)
        #expect(state.tokenPuts == 1)  // the session token is reused
        #expect(state.rejectedWithoutToken == 0)
        let gets = server.requests.filter { $0.method == "GET" }
        #expect(gets.count == 4)  // role + credentials, twice
        #expect(gets.allSatisfy { $0.header("X-aws-ec2-metadata-token")?.hasPrefix("TOKEN-1-") == true })
        #expect(server.requests.first?.header("X-aws-ec2-metadata-token-ttl-seconds") == "21600")
        #expect(!capture.text.contains("imds-secret"))
        #expect(!capture.text.contains("imds-session"))
        try await httpClient.shutdown()
        await server.shutdown()
    }

    @Test func expiredTokenIsFetchedAgainOn401() async throws {
        let imds = FakeIMDS(lifetimes: [60, 3600])
        let server = try await FakeHTTPServer.start { imds.handle($0) }
        let httpClient = HTTPClientFactory.make()
        let provider = InstanceMetadataCredentialsProvider(
            endpoint: server.url, environment: [:], httpClient: httpClient, logger: LogCapture().logger())
        _ = try await provider.credentials()
        imds.revokeTokens()
        let refreshed = try await provider.credentials()
        #expect(refreshed.accessKeyID == "ASIAFAKE2")
        let state = imds.state.withLock { $0 }
        #expect(state.tokenPuts == 2)
        #expect(state.rejectedWithoutToken == 1)
        try await httpClient.shutdown()
        await server.shutdown()
    }

    @Test func instanceCredentialsSignARequestTheFakeAccepts() async throws {
        let imds = FakeIMDS(lifetimes: [3600])
        let server = try await FakeHTTPServer.start { imds.handle($0) }
        let httpClient = HTTPClientFactory.make()
        let capture = LogCapture()
        // Found through the chain, with the endpoint from AWS_EC2_METADATA_SERVICE_ENDPOINT.
        let chain = AWSCredentialChain.default(
            environment: ["HOME": "/nonexistent", "AWS_EC2_METADATA_SERVICE_ENDPOINT": server.url + "/"],
            httpClient: httpClient, logger: capture.logger())
        let s3 = S3Client(
            configuration: S3Configuration(endpoint: server.url, pathStyle: true, retry: .none),
            credentials: chain, httpClient: httpClient, logger: capture.logger())
        let body = Array("{\"index\":7528}\n".utf8)
        let result = try await s3.putObject(bucket: "b", key: "topics/p.pin/partition=0/p.pin+0+0000000000.json", body: body)
        #expect(result.etag == "signed-ok")
        #expect(chain.sourceName == "instance metadata")
        let put = try #require(server.requests.last)
        #expect(put.header("x-amz-security-token") == "imds-session-1")
        #expect(imds.state.withLock { $0.signatureFailures }.isEmpty)

        // The same request signed with a wrong secret is refused by the fake: the check can fail.
        let forged = S3Client(
            configuration: S3Configuration(endpoint: server.url, pathStyle: true, retry: .none),
            credentials: StaticCredentialsProvider(accessKeyID: "ASIAFAKE1", secretAccessKey: "wrong", sessionToken: "imds-session-1"),
            httpClient: httpClient, logger: capture.logger())
        let error = await #expect(throws: S3Error.self) { _ = try await forged.putObject(bucket: "b", key: "k", body: body) }
        #expect(error?.code == .signatureMismatch)
        #expect(!capture.text.contains("imds-secret"))
        try await httpClient.shutdown()
        await server.shutdown()
    }

    @Test func disabledByEnvironmentMakesNoRequest() async throws {
        let imds = FakeIMDS(lifetimes: [3600])
        let server = try await FakeHTTPServer.start { imds.handle($0) }
        let httpClient = HTTPClientFactory.make()
        let provider = InstanceMetadataCredentialsProvider(
            endpoint: server.url, environment: ["AWS_EC2_METADATA_DISABLED": "true"], httpClient: httpClient,
            logger: LogCapture().logger())
        let error = await #expect(throws: S3Error.self) { _ = try await provider.credentials() }
        #expect(error?.message == "disabled by AWS_EC2_METADATA_DISABLED=true")
        #expect(server.requests.isEmpty)
        try await httpClient.shutdown()
        await server.shutdown()
    }

    @Test func unreachableServiceFailsFastAndIsNotRetriable() async throws {
        let port = try await FakeHTTPServer.closedPort()
        let httpClient = HTTPClientFactory.make()
        let provider = InstanceMetadataCredentialsProvider(
            endpoint: "http://127.0.0.1:\(port)", environment: [:], httpClient: httpClient, logger: LogCapture().logger())
        let started = ContinuousClock.now
        let error = await #expect(throws: S3Error.self) { _ = try await provider.credentials() }
        let elapsed = ContinuousClock.now - started
        #expect(error?.code == .credentials)
        #expect(error?.isRetriable == false)
        #expect(error?.message.contains("not reachable") == true)
        #expect(elapsed < .seconds(15))  // fails fast, not after a long hang; loose for a noisy machine
        print("unreachable IMDS failed after \(elapsed)")
        try await httpClient.shutdown()
    }
}
