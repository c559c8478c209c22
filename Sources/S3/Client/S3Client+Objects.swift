import Foundation
import NIOCore

extension S3Client {
    /// Stores `body` under `key`, with `Content-MD5` and the signed SHA-256 of the payload; bodies of at least
    /// `multipartThreshold` bytes go up in parts (aborted if the upload fails). Retries per the policy.
    public func putObject(
        bucket: String, key: String, body: [UInt8], contentType: String = "application/json",
        contentEncoding: String? = nil, metadata: [String: String] = [:]
    ) async throws(S3Error) -> S3PutResult {
        try await putObject(bucket: bucket, key: key, body: ByteBuffer(bytes: body), contentType: contentType,
                            contentEncoding: contentEncoding, metadata: metadata)
    }

    /// ``putObject(bucket:key:body:contentType:contentEncoding:metadata:)`` for a body already in a ByteBuffer,
    /// which is sent (and resent on a retry) without a copy.
    public func putObject(
        bucket: String, key: String, body: ByteBuffer, contentType: String = "application/json",
        contentEncoding: String? = nil, metadata: [String: String] = [:]
    ) async throws(S3Error) -> S3PutResult {
        if body.readableBytes >= configuration.multipartThreshold, body.readableBytes > configuration.partSize {
            return try await multipartUpload(
                bucket: bucket, key: key, body: body, contentType: contentType, contentEncoding: contentEncoding,
                metadata: metadata)
        }
        var request = S3Request(operation: "PutObject", method: "PUT", bucket: bucket, key: key)
        request.headers = Self.objectHeaders(contentType: contentType, contentEncoding: contentEncoding, metadata: metadata)
        attachBody(body, checksum: configuration.checksum, to: &request)
        let response = try await perform(request)
        return S3PutResult(etag: response.etag, versionID: response.header("x-amz-version-id"))
    }

    /// Reads an object: body, user metadata and ETag.
    public func getObject(bucket: String, key: String) async throws(S3Error) -> S3Object {
        var request = S3Request(operation: "GetObject", method: "GET", bucket: bucket, key: key)
        request.maxResponseBytes = Int(Int32.max)
        let response = try await perform(request)
        var info = Self.objectInfo(response)
        info.size = response.body.count
        return S3Object(body: response.body, info: info)
    }

    /// Reads an object's headers without its body.
    public func headObject(bucket: String, key: String) async throws(S3Error) -> S3ObjectInfo {
        var request = S3Request(operation: "HeadObject", method: "HEAD", bucket: bucket, key: key)
        request.readsBody = false
        return Self.objectInfo(try await perform(request))
    }

    /// Deletes an object (S3 answers success for a key that does not exist).
    public func deleteObject(bucket: String, key: String) async throws(S3Error) {
        _ = try await perform(S3Request(operation: "DeleteObject", method: "DELETE", bucket: bucket, key: key))
    }

    // MARK: Helpers

    static func objectHeaders(contentType: String, contentEncoding: String?, metadata: [String: String])
        -> [(String, String)]
    {
        var headers = [("Content-Type", contentType)]
        if let contentEncoding { headers.append(("Content-Encoding", contentEncoding)) }
        for (name, value) in metadata.sorted(by: { $0.key < $1.key }) {
            headers.append(("x-amz-meta-" + name.lowercased(), value))
        }
        return headers
    }

    /// Sets the body (a view of `buffer`, no copy), its SHA-256 and its integrity check (Content-MD5, or
    /// x-amz-checksum-crc32c), all computed from the buffer in place. Multipart parts and small XML bodies use
    /// Content-MD5, so that CompleteMultipartUpload needs no per-part checksums.
    func attachBody(_ buffer: ByteBuffer, checksum: PayloadChecksum = .md5, to request: inout S3Request) {
        switch checksum {
        case .md5:
            var md5 = buffer.withUnsafeReadableBytes { PayloadDigest.md5Base64($0) }
            if testHooks.corruptChecksum { md5 = PayloadDigest.md5Base64(Array("corrupted".utf8)) }
            request.headers.append(("Content-MD5", md5))
        case .crc32c:
            var crc = buffer.withUnsafeReadableBytes { PayloadDigest.crc32cBase64($0) }
            if testHooks.corruptChecksum { crc = PayloadDigest.crc32cBase64(Array("corrupted".utf8)) }
            request.headers.append(("x-amz-checksum-crc32c", crc))
        }
        request.payloadSHA256 = buffer.withUnsafeReadableBytes { PayloadDigest.sha256Hex($0) }
        request.body = buffer
    }

    static func objectInfo(_ response: S3Response) -> S3ObjectInfo {
        S3ObjectInfo(
            size: response.header("Content-Length").flatMap { Int($0) } ?? response.body.count,
            etag: response.etag, contentType: response.header("Content-Type"),
            contentEncoding: response.header("Content-Encoding"), metadata: response.metadata,
            lastModified: response.header("Last-Modified").flatMap(S3DateParsing.httpDate))
    }
}
