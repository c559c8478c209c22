/// An object's body and headers.
public struct S3Object: Sendable, Equatable {
    public var body: [UInt8]
    public var info: S3ObjectInfo

    public init(body: [UInt8], info: S3ObjectInfo) {
        self.body = body
        self.info = info
    }

    public var etag: String? { info.etag }
    public var metadata: [String: String] { info.metadata }
    public var contentType: String? { info.contentType }
}
