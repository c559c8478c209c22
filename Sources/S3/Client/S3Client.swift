import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Support

/// An S3 client over AsyncHTTPClient: SigV4-signed requests, retries with backoff for retriable failures,
/// multipart uploads for large bodies.
///
/// - Important: Every operation throws ``S3Error``; its `isRetriable` says whether the client already gave
///   up on a transient failure (the retry policy ran out) or met a permanent one.
public final class S3Client: Sendable {
    public let configuration: S3Configuration
    let credentialsProvider: any AWSCredentialsProvider
    let httpClient: HTTPClient
    let ownsHTTPClient: Bool
    let logger: Logger
    let endpoint: S3Endpoint?
    let endpointError: S3Error?
    let testHooks: TestHooks

    /// Behaviour that only tests switch on.
    struct TestHooks: Sendable {
        /// Sends a Content-MD5 or x-amz-checksum that does not match the body.
        var corruptChecksum = false
        /// Replaces the random draw of the retry jitter.
        var jitter: (@Sendable () -> Double)?
        /// The clock of the retry waits (a test clock in tests).
        var clock: PipelineClock = .continuous
    }

    /// - Parameter httpClient: a shared client; when nil the S3 client creates one and shuts it down in
    ///   ``shutdown()``.
    public convenience init(
        configuration: S3Configuration, credentials: any AWSCredentialsProvider, httpClient: HTTPClient? = nil,
        logger: Logger
    ) {
        self.init(configuration: configuration, credentials: credentials, httpClient: httpClient, logger: logger,
                  testHooks: TestHooks())
    }

    init(
        configuration: S3Configuration, credentials: any AWSCredentialsProvider, httpClient: HTTPClient?,
        logger: Logger, testHooks: TestHooks
    ) {
        self.configuration = configuration
        self.credentialsProvider = credentials
        self.httpClient = httpClient ?? HTTPClient(eventLoopGroupProvider: .singleton, configuration: Self.httpConfiguration)
        self.ownsHTTPClient = httpClient == nil
        self.logger = logger
        self.testHooks = testHooks
        do {
            self.endpoint = try S3Endpoint(configuration: configuration)
            self.endpointError = nil
        } catch {
            self.endpoint = nil
            self.endpointError = error
        }
    }

    /// The configuration of an HTTP client the S3 client creates for itself: AsyncHTTPClient keeps retrying a
    /// failed connection until the connect timeout, so that timeout bounds how long an unreachable endpoint
    /// holds one attempt before the retry policy takes over.
    public static var httpConfiguration: HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.timeout.connect = .seconds(5)
        configuration.decompression = .disabled
        return configuration
    }

    /// Shuts down the HTTP client if this S3 client created it.
    public func shutdown() async {
        guard ownsHTTPClient else { return }
        do {
            try await httpClient.shutdown()
        } catch {
            logger.debug("S3 HTTP client shutdown failed", metadata: ["error": "\(error)"])
        }
    }

    // MARK: Request execution

    /// Runs a request, retrying per the configured policy; logs each retry at warning.
    func perform(_ request: S3Request, retry: RetryPolicy? = nil) async throws(S3Error) -> S3Response {
        let policy = retry ?? configuration.retry
        var attempt = 1
        while true {
            do throws(S3Error) {
                return try await attemptOnce(request)
            } catch {
                let draw = testHooks.jitter?() ?? Double.random(in: 0..<1)
                switch policy.action(afterAttempt: attempt, error: error, random: draw) {
                case .giveUp:
                    throw error
                case .retry(let delay):
                    logger.warning(
                        "S3 request failed, retrying",
                        metadata: [
                            "s3.operation": "\(request.operation)", "s3.bucket": "\(request.bucket ?? "")",
                            "s3.key": "\(request.key ?? "")", "s3.attempt": "\(attempt)",
                            "s3.retry_in_ms": "\(delay.milliseconds)", "error": "\(error)",
                        ])
                    do {
                        try await testHooks.clock.sleep(for: delay)
                    } catch {
                        throw S3Error(
                            code: .cancelled, operation: request.operation, bucket: request.bucket, key: request.key,
                            message: "cancelled while waiting to retry")
                    }
                    attempt += 1
                }
            }
        }
    }

    /// One signed HTTP exchange. Non-2xx answers become ``S3Error``s, as do 200 answers carrying an
    /// `<Error>` document (CompleteMultipartUpload can fail that way).
    func attemptOnce(_ request: S3Request) async throws(S3Error) -> S3Response {
        if let endpointError { throw endpointError }
        guard let endpoint else { throw S3Error(code: .invalidConfiguration, operation: request.operation, message: "no endpoint") }
        if Task.isCancelled {
            throw S3Error(code: .cancelled, operation: request.operation, bucket: request.bucket, key: request.key,
                          message: "cancelled")
        }
        var credentials: AWSCredentials
        do {
            credentials = try await credentialsProvider.credentials()
        } catch {
            var error = error
            error.bucket = request.bucket
            error.key = request.key
            throw error
        }
        let url = endpoint.url(bucket: request.bucket, key: request.key, query: request.query)
        var headers = request.headers
        headers.append(("Host", SigV4Signer.hostHeader(for: url)))
        let signer = SigV4Signer(credentials: credentials, region: configuration.region)
        headers += signer.sign(
            method: request.method, url: url, headers: headers, payloadSHA256: request.payloadSHA256, date: Date())

        var httpRequest = HTTPClientRequest(url: url.absoluteString)
        httpRequest.method = HTTPMethod(rawValue: request.method)
        for (name, value) in headers { httpRequest.headers.add(name: name, value: value) }
        if let body = request.body { httpRequest.body = .bytes(body) }

        let status: Int
        let responseHeaders: HTTPHeaders
        var body: [UInt8] = []
        do {
            let response = try await httpClient.execute(
                httpRequest, timeout: .nanoseconds(configuration.requestTimeout.nanoseconds), logger: nil)
            status = Int(response.status.code)
            responseHeaders = response.headers
            if request.readsBody || !(200..<300).contains(status) {
                let buffer = try await response.body.collect(upTo: max(request.maxResponseBytes, 1 << 20))
                body = Array(buffer.readableBytesView)
            }
        } catch {
            throw Self.transportError(error, request: request)
        }
        let requestID = responseHeaders.first(name: "x-amz-request-id")
        if (200..<300).contains(status) {
            // CompleteMultipartUpload (and a few others) may answer 200 with an error document.
            if request.method == "POST", body.count < 4096, let document = S3XMLNode.parse(body), document.name == "Error" {
                throw Self.errorFromDocument(document, status: status, request: request, requestID: requestID)
            }
            return S3Response(status: status, headers: responseHeaders, body: body)
        }
        if let document = S3XMLNode.parse(body), document.name == "Error" {
            throw Self.errorFromDocument(document, status: status, request: request, requestID: requestID)
        }
        // HEAD answers (and some proxies) carry no error document: classify by status.
        var code = S3Error.code(httpStatus: status, awsCode: nil)
        if status == 404 { code = request.key == nil ? .noSuchBucket : .noSuchKey }
        var message = HTTPResponseStatus(statusCode: status).reasonPhrase
        if code == .wrongRegion, let region = responseHeaders.first(name: "x-amz-bucket-region") {
            message += "; the bucket is in \(region)"
        }
        throw S3Error(
            code: code, operation: request.operation, bucket: request.bucket, key: request.key, httpStatus: status,
            requestID: requestID, message: message)
    }

    static func errorFromDocument(_ document: S3XMLNode, status: Int, request: S3Request, requestID: String?) -> S3Error {
        let awsCode = document.text(of: "Code")
        var message = document.text(of: "Message") ?? ""
        if awsCode == "PermanentRedirect" || awsCode == "AuthorizationHeaderMalformed",
            let region = document.text(of: "Region")
        {
            message += " (the bucket is in \(region))"
        }
        return S3Error(
            code: S3Error.code(httpStatus: status, awsCode: awsCode), operation: request.operation,
            bucket: request.bucket, key: request.key, httpStatus: status, awsCode: awsCode,
            requestID: document.text(of: "RequestId") ?? requestID, message: message)
    }

    static func transportError(_ error: any Error, request: S3Request) -> S3Error {
        var code = S3Error.Code.network
        if error is CancellationError {
            code = .cancelled
        } else if let httpError = error as? HTTPClientError {
            let timeouts: [HTTPClientError] = [
                .connectTimeout, .readTimeout, .writeTimeout, .deadlineExceeded, .tlsHandshakeTimeout,
                .getConnectionFromPoolTimeout,
            ]
            if httpError == .cancelled {
                code = .cancelled
            } else if timeouts.contains(httpError) {
                code = .timeout
            } else if httpError == .invalidURL || httpError == .emptyHost || httpError == .emptyScheme {
                code = .invalidConfiguration
            }
        } else if error is NIOTooManyBytesError {
            code = .invalidResponse
        }
        return S3Error(
            code: code, operation: request.operation, bucket: request.bucket, key: request.key,
            message: "\(error)")
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    var milliseconds: Int64 { nanoseconds / 1_000_000 }
}
