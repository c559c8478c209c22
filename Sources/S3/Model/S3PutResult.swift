/// What S3 said about a stored object.
public struct S3PutResult: Sendable, Equatable {
    /// The object's ETag, quotes removed (for a multipart upload, `<md5-of-md5s>-<parts>`).
    public var etag: String?
    public var versionID: String?
    /// The number of parts for a multipart upload; nil for a single PUT.
    public var partCount: Int?

    public init(etag: String?, versionID: String? = nil, partCount: Int? = nil) {
        self.etag = etag
        self.versionID = versionID
        self.partCount = partCount
    }
}
