import Foundation
import Logging
import Testing
import TestSupport

@testable import S3
import Support

/// The client against the stack's SeaweedFS (a real S3 API that checks SigV4). Each test writes under its
/// own key prefix.
@Suite struct S3ClientSeaweedFSTests {
    struct Stack {
        var endpoint: String
        var region: String
        var bucket: String
        var accessKey: String
        var secretKey: String

        static func load() throws -> Stack {
            try Stack(
                endpoint: TestStack.value("PINPIPE_S3_ENDPOINT"), region: TestStack.value("PINPIPE_S3_REGION"),
                bucket: TestStack.value("PINPIPE_S3_BUCKET"), accessKey: TestStack.value("PINPIPE_S3_ACCESS_KEY"),
                secretKey: TestStack.value("PINPIPE_S3_SECRET_KEY"))
        }

        func configuration(retry: RetryPolicy = RetryPolicy(initialDelay: .milliseconds(50), maxDelay: .seconds(20), maxAttempts: 3)) -> S3Configuration {
            S3Configuration(region: region, endpoint: endpoint, pathStyle: true, retry: retry)
        }

        func client(secret: String? = nil, configuration: S3Configuration? = nil, capture: LogCapture = LogCapture(),
                    testHooks: S3Client.TestHooks = .init()) -> S3Client {
            S3Client(
                configuration: configuration ?? self.configuration(),
                credentials: StaticCredentialsProvider(accessKeyID: accessKey, secretAccessKey: secret ?? secretKey),
                httpClient: nil, logger: capture.logger(), testHooks: testHooks)
        }
    }

    static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: count)
        var index = 0
        while index < count {
            var word = generator.next()
            for _ in 0..<8 where index < count {
                bytes[index] = UInt8(truncatingIfNeeded: word)
                word >>= 8
                index += 1
            }
        }
        return bytes
    }

    @Test func putGetHeadRoundTripWithMetadata() async throws {
        let stack = try Stack.load()
        let s3 = stack.client()
        let prefix = TestStack.uniqueName("s3test-rt")
        let key = "\(prefix)/topics/p.pin/partition=0/p.pin+0+0000000000.json"
        let body = Array("{\"index\":7528,\"title\":\"No Title Data Available\"}\n{\"index\":7529}\n".utf8)
        let put = try await s3.putObject(
            bucket: stack.bucket, key: key, body: body, metadata: ["pinpipe-topic": "p.pin", "Start-Offset": "0"])
        #expect(put.partCount == nil)

        let object = try await s3.getObject(bucket: stack.bucket, key: key)
        #expect(object.body == body)
        #expect(object.metadata == ["pinpipe-topic": "p.pin", "start-offset": "0"])
        #expect(object.contentType == "application/json")
        #expect(object.etag == put.etag)
        let md5Hex = Data(base64Encoded: PayloadDigest.md5Base64(body))!.map { String(format: "%02x", $0) }.joined()
        #expect(object.etag == md5Hex)

        let info = try await s3.headObject(bucket: stack.bucket, key: key)
        #expect(info.size == body.count)
        #expect(info.metadata["pinpipe-topic"] == "p.pin")
        #expect(info.etag == md5Hex)

        try await s3.deleteObject(bucket: stack.bucket, key: key)
        let gone = await #expect(throws: S3Error.self) { _ = try await s3.getObject(bucket: stack.bucket, key: key) }
        #expect(gone?.code == .noSuchKey)
        #expect(gone?.isRetriable == false)
        await s3.shutdown()
    }

    @Test func listWithPagination() async throws {
        let stack = try Stack.load()
        let s3 = stack.client()
        let prefix = TestStack.uniqueName("s3test-list") + "/topics/p.geo/partition=1/"
        let keys = (0..<5).map { prefix + String(format: "p.geo+1+%010d.json", $0 * 100) }
        for (index, key) in keys.enumerated() {
            _ = try await s3.putObject(bucket: stack.bucket, key: key, body: Array(repeating: UInt8(ascii: "x"), count: index + 1))
        }
        var pages: [[String]] = []
        var token: String?
        repeat {
            let page = try await s3.listObjectsV2(bucket: stack.bucket, prefix: prefix, continuationToken: token, maxKeys: 2)
            pages.append(page.keys)
            token = page.isTruncated ? page.nextContinuationToken : nil
            #expect(page.isTruncated == (pages.count < 3))
        } while token != nil && pages.count < 10
        #expect(pages.map(\.count) == [2, 2, 1])
        #expect(pages.flatMap { $0 } == keys)

        let all = try await s3.listAllObjects(bucket: stack.bucket, prefix: prefix)
        #expect(all.map(\.key) == keys)
        #expect(all.map(\.size) == [1, 2, 3, 4, 5])
        let none = try await s3.listObjectsV2(bucket: stack.bucket, prefix: prefix + "nothing-here/")
        #expect(none.objects.isEmpty && !none.isTruncated)
        for key in keys { try await s3.deleteObject(bucket: stack.bucket, key: key) }
        await s3.shutdown()
    }

    @Test func headBucketAndMissingBucketFailsFast() async throws {
        let stack = try Stack.load()
        let capture = LogCapture()
        let s3 = stack.client(configuration: stack.configuration(retry: RetryPolicy.s3Requests.with(maxAttempts: nil)), capture: capture)
        try await s3.headBucket(stack.bucket)
        let missing = TestStack.uniqueName("no-such-bucket")
        let started = ContinuousClock.now
        let error = await #expect(throws: S3Error.self) { try await s3.headBucket(missing) }
        #expect(error?.code == .noSuchBucket)
        #expect(error?.bucket == missing)
        // (SeaweedFS creates a missing bucket on PutObject, so a read and a listing show the error here.)
        let getError = await #expect(throws: S3Error.self) { _ = try await s3.getObject(bucket: missing, key: "k") }
        #expect(getError?.code == .noSuchBucket)
        #expect(getError?.key == "k")
        let listError = await #expect(throws: S3Error.self) { _ = try await s3.listObjectsV2(bucket: missing, prefix: nil) }
        #expect(listError?.code == .noSuchBucket)
        #expect(capture.count(.warning) == 0)  // not retried although the policy retries forever
        print("missing bucket: three failures in \(ContinuousClock.now - started)")
        await s3.shutdown()
    }

    @Test func multipartUploadReadsBackByteIdentical() async throws {
        let stack = try Stack.load()
        var configuration = stack.configuration()
        configuration.multipartThreshold = 5 << 20
        configuration.partSize = 5 << 20
        let s3 = stack.client(configuration: configuration)
        let key = TestStack.uniqueName("s3test-mpu") + "/big.json"
        let body = Self.randomBytes(12 << 20)
        let started = ContinuousClock.now
        let put = try await s3.putObject(bucket: stack.bucket, key: key, body: body)
        let uploaded = ContinuousClock.now - started
        #expect(put.partCount == 3)
        let object = try await s3.getObject(bucket: stack.bucket, key: key)
        #expect(object.body.count == body.count)
        #expect(object.body == body)
        print("multipart 12 MiB in 3 parts: upload \(uploaded), etag \(put.etag ?? "-")")
        try await s3.deleteObject(bucket: stack.bucket, key: key)
        await s3.shutdown()
    }

    @Test func sixteenMebibyteSinglePut() async throws {
        let stack = try Stack.load()
        let s3 = stack.client()
        let key = TestStack.uniqueName("s3test-16m") + "/obj.json"
        let body = Self.randomBytes(16 << 20)
        let started = ContinuousClock.now
        _ = try await s3.putObject(bucket: stack.bucket, key: key, body: body)
        let uploaded = ContinuousClock.now - started
        let info = try await s3.headObject(bucket: stack.bucket, key: key)
        #expect(info.size == body.count)
        print("single PUT 16 MiB (MD5 + SHA-256 + send): \(uploaded)")
        try await s3.deleteObject(bucket: stack.bucket, key: key)
        await s3.shutdown()
    }

    @Test func wrongSecretIsRejectedWithoutRetry() async throws {
        let stack = try Stack.load()
        let capture = LogCapture()
        let s3 = stack.client(secret: "definitely-not-the-secret", capture: capture)
        let key = TestStack.uniqueName("s3test-auth") + "/a.pin+0+0000000000.json"
        let error = await #expect(throws: S3Error.self) { _ = try await s3.putObject(bucket: stack.bucket, key: key, body: [1, 2]) }
        let code = try #require(error?.code)
        #expect(code == .signatureMismatch || code == .accessDenied)
        #expect(error?.isRetriable == false)
        #expect(error?.bucket == stack.bucket)
        #expect(error?.key == key)
        #expect(error?.description.contains("s3://\(stack.bucket)/\(key)") == true)
        #expect(capture.count(.warning) == 0)
        #expect(!capture.text.contains("definitely-not-the-secret"))
        print("wrong secret: \(error.map { "\($0)" } ?? "-")")
        await s3.shutdown()
    }

    @Test(arguments: PayloadChecksum.allCases)
    func aCorruptedChecksumIsBadDigest(_ checksum: PayloadChecksum) async throws {
        let stack = try Stack.load()
        var configuration = stack.configuration()
        configuration.checksum = checksum
        let s3 = stack.client(configuration: configuration, testHooks: S3Client.TestHooks(corruptChecksum: true))
        let key = TestStack.uniqueName("s3test-md5") + "/obj.json"
        let error = await #expect(throws: S3Error.self) {
            _ = try await s3.putObject(bucket: stack.bucket, key: key, body: Array("{\"a\":1}\n".utf8))
        }
        #expect(error?.code == .badDigest)
        #expect(error?.isRetriable == false)
        print("corrupted \(checksum): \(error.map { "\($0)" } ?? "-")")
        await s3.shutdown()
    }
}
