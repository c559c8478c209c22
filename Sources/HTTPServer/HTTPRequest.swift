import NIOCore
import NIOHTTP1

/// One request, read whole (head and body) before its handler runs.
public struct HTTPRequest: Sendable {
    public var method: HTTPMethod
    /// The path without the query, e.g. `/metrics`.
    public var path: String
    /// The text after `?`, if any.
    public var query: String?
    public var headers: HTTPHeaders
    public var body: ByteBuffer
    /// The values of a route pattern's `{name}` segments (set by ``HTTPRouter``), percent-decoded.
    public var pathParameters: [String: String] = [:]

    public init(method: HTTPMethod, uri: String, headers: HTTPHeaders = [:], body: ByteBuffer = ByteBuffer()) {
        self.method = method
        if let mark = uri.firstIndex(of: "?") {
            path = String(uri[..<mark])
            query = String(uri[uri.index(after: mark)...])
        } else {
            path = uri
            query = nil
        }
        self.headers = headers
        self.body = body
    }
}

/// A response: status, headers and a body sent with its length.
public struct HTTPResponse: Sendable {
    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: ByteBuffer

    public init(status: HTTPResponseStatus, headers: HTTPHeaders = [:], body: ByteBuffer = ByteBuffer()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A text body with its content type.
    public init(status: HTTPResponseStatus = .ok, contentType: String, body: String) {
        self.init(status: status, headers: ["Content-Type": contentType], body: ByteBuffer(string: body))
    }

    /// A short plain-text answer (errors).
    public static func text(_ status: HTTPResponseStatus, _ message: String) -> HTTPResponse {
        HTTPResponse(status: status, contentType: "text/plain; charset=utf-8", body: message + "\n")
    }
}
