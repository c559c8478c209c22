import Foundation
import Testing

@testable import S3

/// SigV4 against AWS's published vectors. Expected values are quoted from:
/// - the Signature Version 4 test suite (aws-sig-v4-test-suite; AKIDEXAMPLE, 20150830T123600Z, us-east-1,
///   service "service"), and
/// - the S3 API reference, "Examples: Signature Calculations" (AKIAIOSFODNN7EXAMPLE, 20130524, us-east-1, s3).
@Suite struct SigV4SignerTests {
    static let suiteSigner = SigV4Signer(
        credentials: AWSCredentials(
            accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1", service: "service")
    static let suiteDate = Date(timeIntervalSince1970: 1_440_938_160)  // 2015-08-30T12:36:00Z
    static let suiteHeaders = [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")]

    static let s3Signer = SigV4Signer(
        credentials: AWSCredentials(
            accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1")
    static let s3Date = Date(timeIntervalSince1970: 1_369_353_600)  // 2013-05-24T00:00:00Z

    /// Signs a test-suite request through the building blocks, returning (canonical request, string to sign,
    /// Authorization).
    func suiteSign(_ method: String, _ url: String, extra: [(String, String)] = [], payload: String = "")
        throws -> (String, String, String)
    {
        let signer = Self.suiteSigner
        let headers = Self.suiteHeaders + extra
        let payloadHash = payload.isEmpty ? SigV4Signer.emptyPayloadSHA256 : sha256Hex(payload)
        let canonical = signer.canonicalRequest(
            method: method, url: try #require(URL(string: url)), headers: headers, payloadSHA256: payloadHash)
        let sts = signer.stringToSign(canonicalRequest: canonical, date: Self.suiteDate)
        let authorization = signer.authorization(
            signedHeaders: SigV4Signer.signedHeaders(headers),
            signature: signer.signature(stringToSign: sts, date: Self.suiteDate), date: Self.suiteDate)
        return (canonical, sts, authorization)
    }

    @Test func getVanilla() throws {
        let (canonical, _, authorization) = try suiteSign("GET", "https://example.amazonaws.com/")
        #expect(
            canonical == """
                GET
                /

                host:example.amazonaws.com
                x-amz-date:20150830T123600Z

                host;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """)
        #expect(
            authorization
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                + "SignedHeaders=host;x-amz-date, "
                + "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
    }

    @Test func getVanillaQueryOrderKeyCase() throws {
        let (canonical, sts, authorization) = try suiteSign(
            "GET", "https://example.amazonaws.com/?Param2=value2&Param1=value1")
        #expect(canonical.split(separator: "\n", omittingEmptySubsequences: false)[2] == "Param1=value1&Param2=value2")
        #expect(
            sts == """
                AWS4-HMAC-SHA256
                20150830T123600Z
                20150830/us-east-1/service/aws4_request
                816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0
                """)
        #expect(authorization.hasSuffix("Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"))
    }

    @Test func postXWWWFormURLEncoded() throws {
        let (canonical, sts, authorization) = try suiteSign(
            "POST", "https://example.amazonaws.com/",
            extra: [("Content-Type", "application/x-www-form-urlencoded")], payload: "Param1=value1")
        #expect(
            canonical == """
                POST
                /

                content-type:application/x-www-form-urlencoded
                host:example.amazonaws.com
                x-amz-date:20150830T123600Z

                content-type;host;x-amz-date
                9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e
                """)
        #expect(sts.hasSuffix("\n42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281"))
        #expect(
            authorization
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                + "SignedHeaders=content-type;host;x-amz-date, "
                + "Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a")
    }

    @Test func getHeaderValueTrim() throws {
        let (canonical, _, authorization) = try suiteSign(
            "GET", "https://example.amazonaws.com/",
            extra: [("My-Header1", " value1"), ("My-Header2", "\"a   b   c\"")])
        #expect(canonical.contains("my-header1:value1\nmy-header2:\"a b c\"\n"))
        #expect(
            authorization.hasSuffix(
                "SignedHeaders=host;my-header1;my-header2;x-amz-date, "
                    + "Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"))
    }

    @Test func getHeaderKeyDuplicateJoinsValuesInOrder() throws {
        let (canonical, _, authorization) = try suiteSign(
            "GET", "https://example.amazonaws.com/",
            extra: [("My-Header1", "value2"), ("My-Header1", "value2"), ("My-Header1", "value1")])
        #expect(canonical.contains("my-header1:value2,value2,value1\n"))
        #expect(authorization.hasSuffix("Signature=c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"))
    }

    // MARK: S3 API reference examples, through the full `sign` path.

    func s3Authorization(_ method: String, _ url: String, _ headers: [(String, String)], payloadSHA256: String)
        throws -> [(String, String)]
    {
        Self.s3Signer.sign(
            method: method, url: try #require(URL(string: url)), headers: headers, payloadSHA256: payloadSHA256,
            date: Self.s3Date)
    }

    func header(_ name: String, in headers: [(String, String)]) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    @Test func s3GetObjectWithRange() throws {
        let url = try #require(URL(string: "https://examplebucket.s3.amazonaws.com/test.txt"))
        let all = [
            ("Range", "bytes=0-9"), ("host", "examplebucket.s3.amazonaws.com"),
            ("x-amz-content-sha256", SigV4Signer.emptyPayloadSHA256), ("x-amz-date", "20130524T000000Z"),
        ]
        let canonical = Self.s3Signer.canonicalRequest(
            method: "GET", url: url, headers: all, payloadSHA256: SigV4Signer.emptyPayloadSHA256)
        #expect(
            canonical == """
                GET
                /test.txt

                host:examplebucket.s3.amazonaws.com
                range:bytes=0-9
                x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                x-amz-date:20130524T000000Z

                host;range;x-amz-content-sha256;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """)
        #expect(
            Self.s3Signer.stringToSign(canonicalRequest: canonical, date: Self.s3Date) == """
                AWS4-HMAC-SHA256
                20130524T000000Z
                20130524/us-east-1/s3/aws4_request
                7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972
                """)

        let signed = try s3Authorization(
            "GET", url.absoluteString, [("Range", "bytes=0-9")], payloadSHA256: SigV4Signer.emptyPayloadSHA256)
        #expect(
            header("Authorization", in: signed)
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        #expect(header("X-Amz-Date", in: signed) == "20130524T000000Z")
        #expect(header("X-Amz-Content-Sha256", in: signed) == SigV4Signer.emptyPayloadSHA256)
        #expect(header("X-Amz-Security-Token", in: signed) == nil)
    }

    @Test func s3PutObject() throws {
        let payload = "Welcome to Amazon S3."
        #expect(sha256Hex(payload) == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
        let signed = try s3Authorization(
            "PUT", "https://examplebucket.s3.amazonaws.com/test$file.text",
            [("Date", "Fri, 24 May 2013 00:00:00 GMT"), ("x-amz-storage-class", "REDUCED_REDUNDANCY")],
            payloadSHA256: sha256Hex(payload))
        #expect(
            header("Authorization", in: signed)
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                + "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, "
                + "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
        #expect(SigV4Signer.canonicalURI(try #require(URL(string: "https://h/test$file.text"))) == "/test%24file.text")
    }

    @Test func s3GetBucketLifecycle() throws {
        let signed = try s3Authorization(
            "GET", "https://examplebucket.s3.amazonaws.com/?lifecycle", [],
            payloadSHA256: SigV4Signer.emptyPayloadSHA256)
        #expect(
            header("Authorization", in: signed)?.hasSuffix(
                "SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
                    + "Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543") == true)
        #expect(SigV4Signer.canonicalQuery(try #require(URL(string: "https://h/?lifecycle"))) == "lifecycle=")
    }

    @Test func s3ListObjects() throws {
        let signed = try s3Authorization(
            "GET", "https://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J", [],
            payloadSHA256: SigV4Signer.emptyPayloadSHA256)
        #expect(
            header("Authorization", in: signed)?.hasSuffix(
                "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7") == true)
    }

    // MARK: Encoding rules that the vectors do not cover.

    @Test func pinpipeKeyIsEncodedOnceWithPlusAndEquals() throws {
        let raw = try #require(URL(string: "http://127.0.0.1:8333/b/topics/a.pin/partition=0/a.pin+0+0000000000.json"))
        let encoded = try #require(
            URL(string: "http://127.0.0.1:8333/b/topics/a.pin/partition%3D0/a.pin%2B0%2B0000000000.json"))
        #expect(SigV4Signer.canonicalURI(raw) == "/b/topics/a.pin/partition%3D0/a.pin%2B0%2B0000000000.json")
        #expect(SigV4Signer.canonicalURI(encoded) == SigV4Signer.canonicalURI(raw))
        // A space and non-ASCII are single-encoded (get-space, get-utf8 canonical URI lines).
        #expect(SigV4Signer.canonicalURI(try #require(URL(string: "https://h/example%20space/"))) == "/example%20space/")
        #expect(SigV4Signer.canonicalURI(try #require(URL(string: "https://h/%E1%88%B4"))) == "/%E1%88%B4")
        // S3 does not normalise the path.
        #expect(SigV4Signer.canonicalURI(try #require(URL(string: "https://h/a//b/./c"))) == "/a//b/./c")
    }

    @Test func queryIsSortedAndStrictlyEncoded() throws {
        let url = try #require(
            URL(string: "https://h/b?prefix=topics/a%2Bb&list-type=2&continuation-token=ab%2Bc%2F%3D&max-keys=2"))
        #expect(
            SigV4Signer.canonicalQuery(url)
                == "continuation-token=ab%2Bc%2F%3D&list-type=2&max-keys=2&prefix=topics%2Fa%2Bb")
    }

    @Test func hostHeaderKeepsNonDefaultPortOnly() throws {
        #expect(SigV4Signer.hostHeader(for: try #require(URL(string: "http://127.0.0.1:8333/x"))) == "127.0.0.1:8333")
        #expect(SigV4Signer.hostHeader(for: try #require(URL(string: "https://s3.amazonaws.com:443/x"))) == "s3.amazonaws.com")
        #expect(SigV4Signer.hostHeader(for: try #require(URL(string: "http://h:80/x"))) == "h")
    }

    @Test func sessionTokenIsSentAndSigned() throws {
        var signer = Self.s3Signer
        signer.credentials.sessionToken = "TOKEN/with+chars=="
        let url = try #require(URL(string: "https://examplebucket.s3.amazonaws.com/test.txt"))
        let signed = signer.sign(
            method: "GET", url: url, headers: [], payloadSHA256: SigV4Signer.emptyPayloadSHA256, date: Self.s3Date)
        #expect(header("X-Amz-Security-Token", in: signed) == "TOKEN/with+chars==")
        let authorization = try #require(header("Authorization", in: signed))
        #expect(authorization.contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,"))
        let unsigned = Self.s3Signer.sign(
            method: "GET", url: url, headers: [], payloadSHA256: SigV4Signer.emptyPayloadSHA256, date: Self.s3Date)
        #expect(header("Authorization", in: unsigned) != authorization)
    }

    @Test func callerSuppliedAmzHeadersAreReplacedNotDuplicated() throws {
        let url = try #require(URL(string: "https://examplebucket.s3.amazonaws.com/test.txt"))
        let withStale = Self.s3Signer.sign(
            method: "GET", url: url, headers: [("Range", "bytes=0-9"), ("X-Amz-Date", "19990101T000000Z")],
            payloadSHA256: SigV4Signer.emptyPayloadSHA256, date: Self.s3Date)
        #expect(
            header("Authorization", in: withStale)?.hasSuffix(
                "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41") == true)
    }

    @Test func amzDateFormatsUTC() {
        #expect(SigV4Signer.amzDate(Date(timeIntervalSince1970: 1_440_938_160)) == "20150830T123600Z")
        #expect(SigV4Signer.amzDate(Date(timeIntervalSince1970: 0)) == "19700101T000000Z")
        #expect(SigV4Signer.dateStamp(Date(timeIntervalSince1970: 1_369_353_599)) == "20130523")
    }
}

func sha256Hex(_ text: String) -> String {
    PayloadDigest.sha256Hex(Array(text.utf8))
}

@Suite struct PayloadDigestTests {
    @Test func knownDigests() {
        // RFC 1321 test suite: MD5("abc") = 900150983cd24fb0d6963f7d28e17f72 (base64 kAFQmDzST7DWlj99KOF/cg==).
        #expect(PayloadDigest.md5Base64(Array("abc".utf8)) == "kAFQmDzST7DWlj99KOF/cg==")
        #expect(PayloadDigest.sha256Hex([UInt8]()) == SigV4Signer.emptyPayloadSHA256)
        let bytes = Array("xxabcxx".utf8)
        #expect(PayloadDigest.md5Base64(bytes[2..<5]) == "kAFQmDzST7DWlj99KOF/cg==")
    }

    /// CRC-32C check value ("123456789" → e3069283) and the RFC 3720 (iSCSI) vectors of 32 zero and 32 0xFF
    /// bytes (8a9136aa, 62a8ab43), which run through both the 8-byte steps and the byte tail.
    @Test func knownCRC32C() {
        func hex(_ base64: String) -> String {
            Data(base64Encoded: base64)!.map { String(format: "%02x", $0) }.joined()
        }
        #expect(hex(PayloadDigest.crc32cBase64(Array("123456789".utf8))) == "e3069283")
        #expect(hex(PayloadDigest.crc32cBase64([UInt8](repeating: 0, count: 32))) == "8a9136aa")
        #expect(hex(PayloadDigest.crc32cBase64([UInt8](repeating: 0xFF, count: 32))) == "62a8ab43")
        #expect(hex(PayloadDigest.crc32cBase64([UInt8]())) == "00000000")
    }
}

/// The signer's own UTC calendar arithmetic agrees with Foundation's Gregorian calendar.
@Suite struct SigV4DateTests {
    static func reference(_ date: Date) -> (Int, Int, Int, Int, Int, Int) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return (c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
    }

    @Test func matchesFoundationsCalendar() {
        var generator = SystemRandomNumberGenerator()
        // Day boundaries and leap days (2000 is a leap year, 1900 and 2100 are not), then random instants from
        // 1900 to 2400, before and after the epoch, with fractional seconds.
        var instants: [Double] = [0, -1, 86_399, 86_400, -86_400, -86_401, 951_782_400, 951_868_799, 951_868_800,
                                  -2_203_891_200, 4_107_456_000, 4_107_542_400, 1_440_938_160.75, -0.5]
        for _ in 0..<20_000 { instants.append(Double.random(in: -2_208_988_800...13_569_465_600, using: &generator)) }
        for seconds in instants {
            let date = Date(timeIntervalSince1970: seconds)
            let mine = SigV4Signer.utcComponents(date)
            let theirs = Self.reference(date)
            #expect(mine == theirs, "at \(seconds) s since the epoch")
            if mine != theirs { return }
        }
    }

    @Test func formatsTheAmzDate() {
        #expect(SigV4Signer.amzDate(Date(timeIntervalSince1970: 951_825_599)) == "20000229T115959Z")
    }
}
