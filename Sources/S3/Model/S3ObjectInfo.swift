import Foundation

/// An object's headers: size, ETag, content type and encoding, user metadata.
public struct S3ObjectInfo: Sendable, Equatable {
    public var size: Int
    /// The ETag, quotes removed.
    public var etag: String?
    public var contentType: String?
    public var contentEncoding: String?
    /// User metadata (`x-amz-meta-*`), names lowercased and without the prefix.
    public var metadata: [String: String]
    public var lastModified: Date?

    public init(
        size: Int, etag: String?, contentType: String? = nil, contentEncoding: String? = nil,
        metadata: [String: String] = [:], lastModified: Date? = nil
    ) {
        self.size = size
        self.etag = etag
        self.contentType = contentType
        self.contentEncoding = contentEncoding
        self.metadata = metadata
        self.lastModified = lastModified
    }
}
