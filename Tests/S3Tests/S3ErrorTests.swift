import Testing

@testable import S3
import Support

@Suite struct S3ErrorTests {
    @Test func classifiesAnswers() {
        #expect(S3Error.code(httpStatus: 403, awsCode: "AccessDenied") == .accessDenied)
        #expect(S3Error.code(httpStatus: 403, awsCode: "SignatureDoesNotMatch") == .signatureMismatch)
        #expect(S3Error.code(httpStatus: 403, awsCode: "InvalidAccessKeyId") == .accessDenied)
        #expect(S3Error.code(httpStatus: 404, awsCode: "NoSuchBucket") == .noSuchBucket)
        #expect(S3Error.code(httpStatus: 503, awsCode: "SlowDown") == .throttled)
        #expect(S3Error.code(httpStatus: 429, awsCode: nil) == .throttled)
        #expect(S3Error.code(httpStatus: 502, awsCode: nil) == .serverError)
        #expect(S3Error.code(httpStatus: 400, awsCode: "BadDigest") == .badDigest)
        #expect(S3Error.code(httpStatus: 403, awsCode: "RequestTimeTooSkewed") == .clockSkew)
        #expect(S3Error.code(httpStatus: 400, awsCode: "InvalidArgument") == .invalidRequest)
        #expect(S3Error.code(httpStatus: 301, awsCode: "PermanentRedirect") == .wrongRegion)
    }

    @Test func retriabilityFollowsTheCode() {
        for code in [S3Error.Code.throttled, .serverError, .network, .timeout] {
            #expect(S3Error(code: code, operation: "PutObject", message: "").isRetriable)
        }
        for code in [S3Error.Code.accessDenied, .signatureMismatch, .noSuchBucket, .noSuchKey, .badDigest, .wrongRegion] {
            #expect(!S3Error(code: code, operation: "PutObject", message: "").isRetriable)
        }
    }

    @Test func descriptionNamesOperationBucketKeyAndWhatToDo() {
        let error = S3Error(
            code: .noSuchBucket, operation: "HeadBucket", bucket: "missing", httpStatus: 404, awsCode: "NoSuchBucket",
            message: "The specified bucket does not exist")
        #expect(
            error.description
                == "S3 HeadBucket s3://missing failed: 404 NoSuchBucket (The specified bucket does not exist) — "
                + "create the bucket or correct the bucket name in the configuration")
        let network = S3Error(code: .network, operation: "GetObject", bucket: "b", key: "k", message: "connection refused")
        #expect(network.description == "S3 GetObject s3://b/k failed: network (connection refused) — check the endpoint and the network path to it")
    }
}

@Suite struct RetryPolicyS3Tests {
    let retriable = S3Error(code: .throttled, operation: "PutObject", message: "")
    let permanent = S3Error(code: .accessDenied, operation: "PutObject", message: "")

    @Test func backoffDoublesUpToTheMaximum() {
        let policy = RetryPolicy(initialDelay: .milliseconds(200), maxDelay: .seconds(20), maxAttempts: nil)
        #expect(policy.backoff.ceiling(afterAttempt: 1) == .milliseconds(200))
        #expect(policy.backoff.ceiling(afterAttempt: 2) == .milliseconds(400))
        #expect(policy.backoff.ceiling(afterAttempt: 7) == .milliseconds(12_800))
        #expect(policy.backoff.ceiling(afterAttempt: 8) == .seconds(20))
        #expect(policy.backoff.ceiling(afterAttempt: 1000) == .seconds(20))
    }

    @Test func jitterStaysInTheUpperHalfOfTheCeiling() {
        let policy = RetryPolicy.s3Requests.with(maxAttempts: 5)
        #expect(policy.action(afterAttempt: 3, error: retriable, random: 0.5) == .retry(after: .milliseconds(600)))
        #expect(policy.action(afterAttempt: 3, error: retriable, random: 0) == .retry(after: .milliseconds(400)))
    }

    @Test func givesUpOnPermanentErrorsAndAfterMaxAttempts() {
        let policy = RetryPolicy.s3Requests.with(maxAttempts: 3)
        #expect(policy.action(afterAttempt: 1, error: permanent, random: 0.5) == .giveUp)
        #expect(policy.action(afterAttempt: 2, error: retriable, random: 0.5) != .giveUp)
        #expect(policy.action(afterAttempt: 3, error: retriable, random: 0.5) == .giveUp)
        let forever = RetryPolicy.s3Requests.with(maxAttempts: nil)
        #expect(forever.action(afterAttempt: 10_000, error: retriable, random: 1) == .retry(after: .seconds(20)))
        #expect(RetryPolicy.none.action(afterAttempt: 1, error: retriable, random: 0.5) == .giveUp)
    }
}

@Suite struct S3EndpointTests {
    @Test func pathStyleEncodesTheKeyOnce() throws {
        let endpoint = try S3Endpoint(configuration: S3Configuration(endpoint: "http://127.0.0.1:8333/", pathStyle: true))
        let url = endpoint.url(bucket: "b", key: "topics/a.pin/partition=0/a.pin+0+0000000000.json")
        #expect(url.absoluteString == "http://127.0.0.1:8333/b/topics/a.pin/partition%3D0/a.pin%2B0%2B0000000000.json")
        let list = endpoint.url(bucket: "b", query: [("list-type", "2"), ("prefix", "topics/a+b c"), ("uploads", "")])
        #expect(list.absoluteString == "http://127.0.0.1:8333/b?list-type=2&prefix=topics%2Fa%2Bb%20c&uploads")
    }

    @Test func awsUsesVirtualHostsExceptForDottedBuckets() throws {
        let endpoint = try S3Endpoint(configuration: S3Configuration(region: "eu-west-1"))
        #expect(endpoint.url(bucket: "user-x-bucket", key: "a b").absoluteString == "https://user-x-bucket.s3.eu-west-1.amazonaws.com/a%20b")
        #expect(endpoint.url(bucket: "my.bucket", key: "k").absoluteString == "https://s3.eu-west-1.amazonaws.com/my.bucket/k")
        #expect(endpoint.url(bucket: "user-x-bucket", query: [("uploads", "")]).absoluteString == "https://user-x-bucket.s3.eu-west-1.amazonaws.com/?uploads")
        #expect(endpoint.url(bucket: nil).absoluteString == "https://s3.eu-west-1.amazonaws.com/")
    }

    @Test func rejectsEndpointsThatAreNotHTTPURLs() {
        #expect(throws: S3Error.self) { try S3Endpoint(configuration: S3Configuration(endpoint: "127.0.0.1:8333")) }
        #expect(throws: S3Error.self) { try S3Endpoint(configuration: S3Configuration(endpoint: "ftp://h")) }
    }
}
