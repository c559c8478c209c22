import Support

/// How to reach S3 (or an S3-compatible store) and how hard to try.
public struct S3Configuration: Sendable {
    public var region: String
    /// The service endpoint, e.g. `http://127.0.0.1:8333`; nil means AWS (`https://s3.<region>.amazonaws.com`).
    public var endpoint: String?
    /// Path-style addressing (`<endpoint>/<bucket>/<key>`) instead of virtual-host style
    /// (`<bucket>.<host>/<key>`). S3-compatible stores usually need path style. Buckets whose names contain
    /// a dot always use path style (a virtual host would not match the TLS certificate).
    public var pathStyle: Bool
    /// Bodies of at least this many bytes are uploaded in parts.
    public var multipartThreshold: Int
    /// The size of each part but the last (S3 requires at least 5 MiB).
    public var partSize: Int
    public var retry: RetryPolicy
    /// The deadline of one HTTP attempt (connect, send, receive).
    public var requestTimeout: Duration
    /// The integrity check of PutObject bodies (multipart parts always carry Content-MD5).
    public var checksum: PayloadChecksum

    public init(
        region: String = "us-east-1", endpoint: String? = nil, pathStyle: Bool = false,
        multipartThreshold: Int = 64 << 20, partSize: Int = 16 << 20, retry: RetryPolicy = .s3Requests,
        requestTimeout: Duration = .seconds(60), checksum: PayloadChecksum = .crc32c
    ) {
        self.checksum = checksum
        self.region = region
        self.endpoint = endpoint
        self.pathStyle = pathStyle
        self.multipartThreshold = multipartThreshold
        self.partSize = partSize
        self.retry = retry
        self.requestTimeout = requestTimeout
    }
}

/// How S3 checks that it stored the bytes that were sent.
public enum PayloadChecksum: String, Sendable, CaseIterable {
    /// `x-amz-checksum-crc32c`: what current AWS SDKs send, computed by the CPU's crc32 instruction (about ten
    /// times cheaper than MD5 on the sink's bodies). S3 and current S3-compatible stores verify it.
    case crc32c
    /// `Content-MD5`: understood by every S3-compatible store, including old ones that ignore x-amz-checksum.
    case md5
}
