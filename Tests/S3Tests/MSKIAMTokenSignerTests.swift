import Foundation
import Testing
import TestSupport

@testable import S3

/// The MSK IAM token against its oracle, AWS's `aws-msk-iam-sasl-signer-python` 1.0.2 (installed in the
/// project's venv by `deploy/dev/install`): for the same credentials and instant, the decoded tokens are equal
/// byte for byte up to the trailing `User-Agent` parameter, which names the client and is not signed.
@Suite struct MSKIAMTokenSignerTests {
    static let accessKeyID = "AKIDEXAMPLE"
    static let secretAccessKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    /// Characters that percent-encoding must handle (`/`, `+`, `=`).
    static let sessionToken = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ+abc/def=="
    static let instant = Date(timeIntervalSince1970: 1_733_400_000)  // 2024-12-05T12:00:00Z

    static var python: String? {
        let path = TestStack.repoRoot.appendingPathComponent(".dev/venv/bin/python").path
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }

    /// Runs the oracle; nil when the venv is absent.
    static func oracle(region: String, sessionToken: String?, instant: Date) throws -> (token: String, expiryMS: Int64)? {
        guard let python else { return nil }
        let script = TestStack.repoRoot.appendingPathComponent("Tests/S3Tests/Oracle/msk_token_oracle.py").path
        let result = try TestStack.run(python, [
            script, region, accessKeyID, secretAccessKey, sessionToken ?? "-",
            String(Int(instant.timeIntervalSince1970)),
        ])
        try #require(result.status == 0, "the oracle failed: \(result.output)")
        let lines = result.output.split(separator: "\n").map(String.init)
        try #require(lines.count == 2, "unexpected oracle output: \(result.output)")
        return (lines[0], try #require(Int64(lines[1])))
    }

    static func decode(_ token: String) throws -> String {
        var text = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        let data = try #require(Data(base64Encoded: text), "token is not base64url: \(token)")
        return String(decoding: data, as: UTF8.self)
    }

    /// The URL without its last parameter (`&User-Agent=…`).
    static func withoutUserAgent(_ url: String) throws -> String {
        let range = try #require(url.range(of: "&User-Agent=", options: .backwards), "no User-Agent in \(url)")
        return String(url[..<range.lowerBound])
    }

    static func credentials(sessionToken: String?) -> AWSCredentials {
        AWSCredentials(accessKeyID: accessKeyID, secretAccessKey: secretAccessKey, sessionToken: sessionToken)
    }

    @Test(.enabled(if: python != nil, "skipped: no .dev/venv/bin/python with aws-msk-iam-sasl-signer-python (run deploy/dev/install)"),
          arguments: [nil, sessionToken] as [String?], ["us-east-1", "eu-west-2"])
    func equalsTheAWSSignerByteForByte(sessionToken: String?, region: String) throws {
        let oracle = try #require(try Self.oracle(region: region, sessionToken: sessionToken, instant: Self.instant))
        let ours = MSKIAMTokenSigner(region: region).token(credentials: Self.credentials(sessionToken: sessionToken),
                                                           date: Self.instant)
        let theirs = try Self.decode(oracle.token)
        #expect(theirs.hasSuffix("&User-Agent=aws-msk-iam-sasl-signer-python%2F1.0.2"))
        #expect(try Self.withoutUserAgent(Self.decode(ours.value)) == Self.withoutUserAgent(theirs))
        #expect(ours.url.hasSuffix("&User-Agent=pinpipe"))
        #expect(Int64(ours.expiration.timeIntervalSince1970 * 1000) == oracle.expiryMS)
        // No padding, URL-safe alphabet, like the oracle's.
        #expect(!ours.value.contains("=") && !ours.value.contains("+") && !ours.value.contains("/"))
    }

    @Test func theDecodedURLFieldByField() throws {
        let ours = MSKIAMTokenSigner(region: "us-west-2")
            .token(credentials: Self.credentials(sessionToken: Self.sessionToken), date: Self.instant)
        let components = try #require(URLComponents(string: try Self.decode(ours.value)))
        #expect(components.scheme == "https")
        #expect(components.host == "kafka.us-west-2.amazonaws.com")
        #expect(components.path == "/")
        let items = try #require(components.queryItems)
        #expect(items.map(\.name) == [
            "Action", "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders",
            "X-Amz-Security-Token", "X-Amz-Signature", "User-Agent",
        ])
        let value = { (name: String) in items.first { $0.name == name }?.value }
        #expect(value("Action") == "kafka-cluster:Connect")
        #expect(value("X-Amz-Algorithm") == "AWS4-HMAC-SHA256")
        #expect(value("X-Amz-Credential") == "AKIDEXAMPLE/20241205/us-west-2/kafka-cluster/aws4_request")
        #expect(value("X-Amz-Date") == "20241205T120000Z")
        #expect(value("X-Amz-Expires") == "900")
        #expect(value("X-Amz-SignedHeaders") == "host")
        #expect(value("X-Amz-Security-Token") == Self.sessionToken)
        #expect(value("X-Amz-Signature")?.count == 64)
        #expect(ours.principal == "AKIDEXAMPLE")
        #expect(ours.expiration == Self.instant.addingTimeInterval(900))
    }

    @Test func aTokenDiesWithTheTemporaryCredentialsThatSignedIt() {
        var credentials = Self.credentials(sessionToken: Self.sessionToken)
        credentials.expiration = Self.instant.addingTimeInterval(120)
        let token = MSKIAMTokenSigner(region: "us-east-1").token(credentials: credentials, date: Self.instant)
        #expect(token.expiration == Self.instant.addingTimeInterval(120))
    }

    @Test func theSignatureChangesWithTheSecret() throws {
        let signer = MSKIAMTokenSigner(region: "us-east-1")
        let one = signer.token(credentials: Self.credentials(sessionToken: nil), date: Self.instant)
        var other = Self.credentials(sessionToken: nil)
        other.secretAccessKey += "x"
        let two = signer.token(credentials: other, date: Self.instant)
        #expect(one.value != two.value)
        #expect(!(try Self.decode(one.value)).contains(Self.secretAccessKey))
    }
}
