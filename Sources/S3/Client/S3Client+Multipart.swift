import Foundation
import NIOCore

extension S3Client {
    /// CreateMultipartUpload, UploadPart (each with Content-MD5) in order, CompleteMultipartUpload; on any
    /// failure, AbortMultipartUpload so no parts are left behind, then the failure is rethrown.
    func multipartUpload(
        bucket: String, key: String, body: ByteBuffer, contentType: String, contentEncoding: String?,
        metadata: [String: String]
    ) async throws(S3Error) -> S3PutResult {
        var create = S3Request(operation: "CreateMultipartUpload", method: "POST", bucket: bucket, key: key)
        create.query = [("uploads", "")]
        create.headers = Self.objectHeaders(contentType: contentType, contentEncoding: contentEncoding, metadata: metadata)
        let created = try await perform(create)
        guard let document = S3XMLNode.parse(created.body), let uploadID = document.text(of: "UploadId"),
            !uploadID.isEmpty
        else {
            throw S3Error(
                code: .invalidResponse, operation: "CreateMultipartUpload", bucket: bucket, key: key,
                httpStatus: created.status, message: "no UploadId in the answer", isRetriable: true)
        }
        logger.debug("S3 multipart upload started", metadata: ["s3.bucket": "\(bucket)", "s3.key": "\(key)", "s3.upload_id": "\(uploadID)"])

        do throws(S3Error) {
            let partSize = max(configuration.partSize, 1)
            var etags: [String] = []
            var start = 0
            while start < body.readableBytes {
                let end = min(start + partSize, body.readableBytes)
                let partNumber = etags.count + 1
                var part = S3Request(operation: "UploadPart", method: "PUT", bucket: bucket, key: key)
                part.query = [("partNumber", String(partNumber)), ("uploadId", uploadID)]
                // The part is a view of the one buffer holding the body: no copy per part or per retry.
                attachBody(body.getSlice(at: body.readerIndex + start, length: end - start)!, to: &part)
                let uploaded = try await perform(part)
                guard let etag = uploaded.header("ETag") else {
                    throw S3Error(
                        code: .invalidResponse, operation: "UploadPart", bucket: bucket, key: key,
                        httpStatus: uploaded.status, message: "part \(partNumber) was stored without an ETag")
                }
                etags.append(etag)
                start = end
            }

            var complete = S3Request(operation: "CompleteMultipartUpload", method: "POST", bucket: bucket, key: key)
            complete.query = [("uploadId", uploadID)]
            let xml = Self.completeDocument(etags: etags)
            complete.headers = [("Content-Type", "application/xml")]
            attachBody(ByteBuffer(bytes: xml), to: &complete)
            let completed = try await perform(complete)
            let etag = S3XMLNode.parse(completed.body)?.text(of: "ETag").map(S3Response.unquote) ?? completed.etag
            return S3PutResult(etag: etag, versionID: completed.header("x-amz-version-id"), partCount: etags.count)
        } catch {
            await abortMultipartUpload(bucket: bucket, key: key, uploadID: uploadID, cause: error)
            throw error
        }
    }

    /// Best effort: a failed abort is logged (S3 lifecycle rules can clean up incomplete uploads).
    func abortMultipartUpload(bucket: String, key: String, uploadID: String, cause: S3Error) async {
        var abort = S3Request(operation: "AbortMultipartUpload", method: "DELETE", bucket: bucket, key: key)
        abort.query = [("uploadId", uploadID)]
        var policy = configuration.retry
        policy.maxAttempts = min(policy.maxAttempts ?? 3, 3)
        do {
            _ = try await perform(abort, retry: policy)
            logger.info(
                "S3 multipart upload aborted",
                metadata: ["s3.bucket": "\(bucket)", "s3.key": "\(key)", "error": "\(cause)"])
        } catch {
            logger.warning(
                "S3 multipart upload could not be aborted",
                metadata: ["s3.bucket": "\(bucket)", "s3.key": "\(key)", "s3.upload_id": "\(uploadID)", "error": "\(error)"])
        }
    }

    static func completeDocument(etags: [String]) -> [UInt8] {
        var xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        for (index, etag) in etags.enumerated() {
            let escaped = etag.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            xml += "<Part><PartNumber>\(index + 1)</PartNumber><ETag>\(escaped)</ETag></Part>"
        }
        xml += "</CompleteMultipartUpload>"
        return Array(xml.utf8)
    }
}
