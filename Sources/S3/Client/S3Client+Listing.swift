extension S3Client {
    /// One page of `ListObjectsV2`.
    public func listObjectsV2(
        bucket: String, prefix: String?, continuationToken: String? = nil, maxKeys: Int = 1000
    ) async throws(S3Error) -> S3ListPage {
        var request = S3Request(operation: "ListObjectsV2", method: "GET", bucket: bucket)
        request.query = [("list-type", "2"), ("max-keys", String(maxKeys))]
        if let prefix, !prefix.isEmpty { request.query.append(("prefix", prefix)) }
        if let continuationToken { request.query.append(("continuation-token", continuationToken)) }
        request.maxResponseBytes = 64 << 20
        let response = try await perform(request)
        guard let page = Self.listPage(response.body) else {
            throw S3Error(
                code: .invalidResponse, operation: "ListObjectsV2", bucket: bucket, httpStatus: response.status,
                message: "the answer is not a ListBucketResult document", isRetriable: true)
        }
        return page
    }

    /// Every object under `prefix`, following continuation tokens.
    public func listAllObjects(bucket: String, prefix: String?) async throws(S3Error) -> [S3ObjectSummary] {
        var objects: [S3ObjectSummary] = []
        var token: String?
        repeat {
            let page = try await listObjectsV2(bucket: bucket, prefix: prefix, continuationToken: token)
            objects += page.objects
            token = page.isTruncated ? page.nextContinuationToken : nil
            if page.isTruncated, token == nil {
                throw S3Error(
                    code: .invalidResponse, operation: "ListObjectsV2", bucket: bucket,
                    message: "a truncated page without NextContinuationToken", isRetriable: false)
            }
        } while token != nil
        return objects
    }

    /// Parses a `ListBucketResult` document.
    static func listPage(_ body: [UInt8]) -> S3ListPage? {
        guard let document = S3XMLNode.parse(body), document.name == "ListBucketResult" else { return nil }
        let objects = document.children("Contents").map { entry in
            S3ObjectSummary(
                key: entry.text(of: "Key") ?? "", size: entry.text(of: "Size").flatMap { Int($0) } ?? 0,
                etag: entry.text(of: "ETag").map(S3Response.unquote),
                lastModified: entry.text(of: "LastModified").flatMap(S3DateParsing.iso8601))
        }
        let prefixes = document.children("CommonPrefixes").compactMap { $0.text(of: "Prefix") }
        let token = document.text(of: "NextContinuationToken").flatMap { $0.isEmpty ? nil : $0 }
        return S3ListPage(
            objects: objects, commonPrefixes: prefixes, isTruncated: document.text(of: "IsTruncated") == "true",
            nextContinuationToken: token)
    }
}
