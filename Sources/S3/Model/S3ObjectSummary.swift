import Foundation

/// One object in a listing.
public struct S3ObjectSummary: Sendable, Equatable {
    public var key: String
    public var size: Int
    /// The ETag, quotes removed.
    public var etag: String?
    public var lastModified: Date?

    public init(key: String, size: Int, etag: String?, lastModified: Date? = nil) {
        self.key = key
        self.size = size
        self.etag = etag
        self.lastModified = lastModified
    }
}
