import AsyncHTTPClient
import Foundation
import Logging
import Synchronization
import Testing
import TestSupport

@testable import S3
import Support

/// Retry behaviour against a local fake server (NIO on 127.0.0.1, random port).
@Suite struct S3ClientRetryTests {
    static let credentials = StaticCredentialsProvider(accessKeyID: "AKIDTEST", secretAccessKey: "test-secret")

    func client(port: Int, maxAttempts: Int?, capture: LogCapture) -> S3Client {
        S3Client(
            configuration: S3Configuration(
                region: "us-east-1", endpoint: "http://127.0.0.1:\(port)", pathStyle: true,
                retry: RetryPolicy(initialDelay: .milliseconds(5), maxDelay: .milliseconds(20), maxAttempts: maxAttempts),
                requestTimeout: .seconds(5)),
            credentials: Self.credentials, logger: capture.logger())
    }

    @Test func slowDownTwiceThenSuccessTakesThreeAttempts() async throws {
        let calls = Mutex(0)
        let server = try await FakeHTTPServer.start { _ in
            let n = calls.withLock { $0 += 1; return $0 }
            if n <= 2 {
                return FakeHTTPResponse(
                    status: 503, headers: [("x-amz-request-id", "REQ\(n)")],
                    body: "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>")
            }
            return FakeHTTPResponse(status: 200, headers: [("ETag", "\"abc123\"")])
        }
        let capture = LogCapture()
        let s3 = client(port: server.port, maxAttempts: 5, capture: capture)
        let body = Array("{\"a\":1}\n".utf8)
        let result = try await s3.putObject(bucket: "b", key: "topics/a.pin/partition=0/a.pin+0+0000000000.json", body: body)
        #expect(result.etag == "abc123")
        let requests = server.requests
        #expect(requests.count == 3)
        // The same signed body went out each time, to the single-encoded key.
        for request in requests {
            #expect(request.method == "PUT")
            #expect(request.uri == "/b/topics/a.pin/partition%3D0/a.pin%2B0%2B0000000000.json")
            #expect(request.body == body)
            #expect(request.header("x-amz-checksum-crc32c") == PayloadDigest.crc32cBase64(body))
            #expect(request.header("x-amz-content-sha256") == PayloadDigest.sha256Hex(body))
        }
        #expect(capture.count(.warning) == 2)
        #expect(capture.text.contains("SlowDown"))
        await s3.shutdown()
        await server.shutdown()
    }

    @Test func connectionRefusedIsRetriedThenFails() async throws {
        let port = try await FakeHTTPServer.closedPort()
        let capture = LogCapture()
        // AsyncHTTPClient retries a refused connection until its connect timeout: keep that short here.
        var httpConfiguration = S3Client.httpConfiguration
        httpConfiguration.timeout.connect = .milliseconds(300)
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
                let s3 = S3Client(
            configuration: S3Configuration(
                endpoint: "http://127.0.0.1:\(port)", pathStyle: true,
                retry: RetryPolicy(initialDelay: .milliseconds(5), maxDelay: .milliseconds(20), maxAttempts: 3)),
            credentials: Self.credentials, httpClient: httpClient, logger: capture.logger())
        let started = ContinuousClock.now
        let error = await #expect(throws: S3Error.self) {
            _ = try await s3.getObject(bucket: "b", key: "k")
        }
        #expect(error?.code == .network)
        #expect(error?.isRetriable == true)
        #expect(error?.bucket == "b")
        #expect(error?.key == "k")
        #expect(capture.count(.warning) == 2)  // attempts 1 and 2 were retried, attempt 3 gave up
        #expect(capture.text.contains("s3.attempt=2"))
        // Measured, not asserted as a pass/fail threshold beyond sanity: three short connect timeouts.
        print("connection refused: 3 attempts took \(ContinuousClock.now - started)")
        try await httpClient.shutdown()
    }

    @Test func accessDeniedIsAttemptedExactlyOnce() async throws {
        let server = try await FakeHTTPServer.start { _ in
            FakeHTTPResponse(
                status: 403, headers: [("x-amz-request-id", "REQ403")],
                body: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code>"
                    + "<Message>Access Denied</Message><RequestId>RID-1</RequestId></Error>")
        }
        let capture = LogCapture()
        let s3 = client(port: server.port, maxAttempts: nil, capture: capture)
        let error = await #expect(throws: S3Error.self) {
            _ = try await s3.putObject(
                bucket: "user-x-bucket", key: "topics/a.pin/partition=0/a.pin+0+0000000000.json", body: [1, 2, 3])
        }
        #expect(server.requests.count == 1)
        #expect(error?.code == .accessDenied)
        #expect(error?.isRetriable == false)
        #expect(error?.httpStatus == 403)
        #expect(error?.requestID == "RID-1")
        #expect(
            error?.description
                == "S3 PutObject s3://user-x-bucket/topics/a.pin/partition=0/a.pin+0+0000000000.json failed: "
                + "403 AccessDenied (Access Denied) — check the credentials' permissions for this bucket [request RID-1]")
        #expect(capture.count(.warning) == 0)
        await s3.shutdown()
        await server.shutdown()
    }

    @Test func headOfMissingKeyIsNoSuchKeyWithoutRetry() async throws {
        let server = try await FakeHTTPServer.start { _ in FakeHTTPResponse(status: 404) }
        let s3 = client(port: server.port, maxAttempts: 4, capture: LogCapture())
        let objectError = await #expect(throws: S3Error.self) { _ = try await s3.headObject(bucket: "b", key: "nope") }
        #expect(objectError?.code == .noSuchKey)
        let bucketError = await #expect(throws: S3Error.self) { try await s3.headBucket("b") }
        #expect(bucketError?.code == .noSuchBucket)
        #expect(server.requests.map(\.method) == ["HEAD", "HEAD"])
        await s3.shutdown()
        await server.shutdown()
    }

    @Test func multipartFailureAbortsTheUpload() async throws {
        let server = try await FakeHTTPServer.start { request in
            if request.method == "POST", request.uri.hasSuffix("?uploads") {
                return FakeHTTPResponse(
                    status: 200,
                    body: "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>UP-1</UploadId></InitiateMultipartUploadResult>")
            }
            if request.method == "PUT", request.uri.contains("partNumber=2") {
                return FakeHTTPResponse(status: 400, body: "<Error><Code>InvalidPart</Code><Message>nope</Message></Error>")
            }
            if request.method == "PUT" { return FakeHTTPResponse(status: 200, headers: [("ETag", "\"p\"")]) }
            return FakeHTTPResponse(status: 204)
        }
        var configuration = S3Configuration(endpoint: server.url, pathStyle: true, multipartThreshold: 10, partSize: 4)
        configuration.retry = .none
        let s3 = S3Client(configuration: configuration, credentials: Self.credentials, logger: LogCapture().logger())
        let error = await #expect(throws: S3Error.self) {
            _ = try await s3.putObject(bucket: "b", key: "k", body: Array(0..<12))
        }
        #expect(error?.operation == "UploadPart")
        #expect(error?.awsCode == "InvalidPart")
        let calls = server.requests.map { "\($0.method) \($0.uri)" }
        #expect(calls == ["POST /b/k?uploads", "PUT /b/k?partNumber=1&uploadId=UP-1", "PUT /b/k?partNumber=2&uploadId=UP-1", "DELETE /b/k?uploadId=UP-1"])
        #expect(server.requests[1].body == [0, 1, 2, 3])
        #expect(server.requests[2].body == [4, 5, 6, 7])
        await s3.shutdown()
        await server.shutdown()
    }

    @Test func completeAnsweringErrorWithStatus200Fails() async throws {
        let server = try await FakeHTTPServer.start { request in
            if request.uri.hasSuffix("?uploads") {
                return FakeHTTPResponse(status: 200, body: "<InitiateMultipartUploadResult><UploadId>U</UploadId></InitiateMultipartUploadResult>")
            }
            if request.method == "PUT" { return FakeHTTPResponse(status: 200, headers: [("ETag", "\"e\"")]) }
            if request.method == "POST" {
                return FakeHTTPResponse(status: 200, body: "<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>")
            }
            return FakeHTTPResponse(status: 204)
        }
        let s3 = S3Client(
            configuration: S3Configuration(endpoint: server.url, pathStyle: true, multipartThreshold: 8, partSize: 5, retry: .none),
            credentials: Self.credentials, logger: LogCapture().logger())
        let error = await #expect(throws: S3Error.self) { _ = try await s3.putObject(bucket: "b", key: "k", body: Array(repeating: 7, count: 9)) }
        #expect(error?.code == .serverError)
        #expect(error?.operation == "CompleteMultipartUpload")
        let complete = try #require(server.requests.first { $0.method == "POST" && $0.uri == "/b/k?uploadId=U" })
        #expect(String(decoding: complete.body, as: UTF8.self).contains("<Part><PartNumber>2</PartNumber><ETag>\"e\"</ETag></Part>"))
        #expect(server.requests.last?.method == "DELETE")
        await s3.shutdown()
        await server.shutdown()
    }
}
