import NIOCore
import Support

extension S3Client {
    /// Succeeds when the bucket exists and the credentials may use it; throws `noSuchBucket` or
    /// `accessDenied` otherwise, without retrying those.
    public func headBucket(_ bucket: String) async throws(S3Error) {
        var request = S3Request(operation: "HeadBucket", method: "HEAD", bucket: bucket)
        request.readsBody = false
        _ = try await perform(request)
    }

    /// Creates a bucket (in the configured region on AWS); a bucket this account already owns is success.
    public func createBucket(_ bucket: String) async throws(S3Error) {
        var request = S3Request(operation: "CreateBucket", method: "PUT", bucket: bucket)
        if configuration.endpoint == nil, configuration.region != "us-east-1" {
            let xml = Array(
                ("<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                    + "<LocationConstraint>\(configuration.region)</LocationConstraint></CreateBucketConfiguration>").utf8)
            attachBody(ByteBuffer(bytes: xml), to: &request)
        }
        do {
            _ = try await perform(request)
        } catch where error.awsCode == "BucketAlreadyOwnedByYou" {
            return
        }
    }
}
