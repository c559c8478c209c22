import Foundation
import NIOHTTP1

/// A successful (2xx) S3 answer.
struct S3Response: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: [UInt8]

    func header(_ name: String) -> String? {
        headers.first(name: name)
    }

    /// The ETag header, quotes removed.
    var etag: String? {
        header("ETag").map(S3Response.unquote)
    }

    static func unquote(_ etag: String) -> String {
        etag.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
    }

    /// `x-amz-meta-*` headers, names lowercased and without the prefix.
    var metadata: [String: String] {
        var metadata: [String: String] = [:]
        for (name, value) in headers {
            let lower = name.lowercased()
            if lower.hasPrefix("x-amz-meta-") { metadata[String(lower.dropFirst("x-amz-meta-".count))] = value }
        }
        return metadata
    }
}
