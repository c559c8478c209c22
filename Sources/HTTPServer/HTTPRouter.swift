import NIOHTTP1

/// Routes a request by path, then method: an unknown path gets 404, a known path with a method it does not
/// serve 405 (with `Allow`). `HEAD` is served by the `GET` handler, without the body.
///
/// A path is exact (`/metrics`) or a pattern whose segments may be parameters (`/topics/{topic}/partitions/{partition}`):
/// a parameter matches one non-empty segment, percent-decoded, and reaches the handler in
/// ``HTTPRequest/pathParameters``. Exact paths win over patterns; patterns are tried in registration order.
public struct HTTPRouter: Sendable {
    public typealias Handler = @Sendable (HTTPRequest) async -> HTTPResponse
    /// Builds the router's own answers (404, 405, and the server's 413): status and a message.
    public typealias ErrorResponder = @Sendable (HTTPResponseStatus, String) -> HTTPResponse

    private var routes: [String: [String: Handler]] = [:]
    private var patterns: [(pattern: PathPattern, methods: [String: Handler])] = []
    /// How 404, 405 and 413 are answered (plain text by default; an API may want its own error envelope).
    public var errorResponder: ErrorResponder = { status, message in .text(status, message) }

    public init() {}

    /// Serves `method` on `path` with `handler`; a later registration of the same pair replaces it.
    public mutating func on(_ method: HTTPMethod, _ path: String, _ handler: @escaping Handler) {
        guard path.contains("{") else {
            routes[path, default: [:]][method.rawValue] = handler
            return
        }
        let pattern = PathPattern(path)
        if let index = patterns.firstIndex(where: { $0.pattern == pattern }) {
            patterns[index].methods[method.rawValue] = handler
        } else {
            patterns.append((pattern, [method.rawValue: handler]))
        }
    }

    /// The registered paths and patterns, sorted (for logs and index pages).
    public var paths: [String] { (routes.keys + patterns.map(\.pattern.text)).sorted() }

    public func respond(to request: HTTPRequest) async -> HTTPResponse {
        var request = request
        let methods: [String: Handler]
        if let exact = routes[request.path] {
            methods = exact
        } else if let (found, parameters) = match(request.path) {
            methods = found
            request.pathParameters = parameters
        } else {
            return errorResponder(.notFound, "not found: \(request.path) (served: \(paths.joined(separator: ", ")))")
        }
        if let handler = methods[request.method.rawValue] {
            return await handler(request)
        }
        if request.method == .HEAD, let get = methods[HTTPMethod.GET.rawValue] {
            var response = await get(request)
            response.headers.replaceOrAdd(name: "Content-Length", value: "\(response.body.readableBytes)")
            response.body.clear()
            return response
        }
        var allowed = methods.keys.sorted()
        if methods[HTTPMethod.GET.rawValue] != nil { allowed.append(HTTPMethod.HEAD.rawValue) }
        var response = errorResponder(.methodNotAllowed, "\(request.method.rawValue) is not allowed on \(request.path)")
        response.headers.replaceOrAdd(name: "Allow", value: allowed.joined(separator: ", "))
        return response
    }

    private func match(_ path: String) -> ([String: Handler], [String: String])? {
        guard !patterns.isEmpty else { return nil }
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        for (pattern, methods) in patterns {
            if let parameters = pattern.match(segments) { return (methods, parameters) }
        }
        return nil
    }
}

/// `/a/{name}/b`: literal segments and `{parameter}` segments.
struct PathPattern: Equatable, Sendable {
    enum Segment: Equatable, Sendable {
        case literal(String)
        case parameter(String)
    }

    let text: String
    let segments: [Segment]

    init(_ text: String) {
        self.text = text
        segments = text.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map { part in
            if part.hasPrefix("{") && part.hasSuffix("}") && part.count > 2 {
                return .parameter(String(part.dropFirst().dropLast()))
            }
            return .literal(String(part))
        }
    }

    func match(_ parts: ArraySlice<Substring>) -> [String: String]? {
        guard parts.count == segments.count else { return nil }
        var parameters: [String: String] = [:]
        for (segment, part) in zip(segments, parts) {
            switch segment {
            case .literal(let literal):
                guard part == literal else { return nil }
            case .parameter(let name):
                guard !part.isEmpty, let decoded = Self.percentDecoded(part) else { return nil }
                parameters[name] = decoded
            }
        }
        return parameters
    }

    /// `%2E` -> `.`; nil for a malformed escape or bytes that are not UTF-8.
    static func percentDecoded(_ text: Substring) -> String? {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        var utf8 = text.utf8.makeIterator()
        while let byte = utf8.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = utf8.next().flatMap(hex), let low = utf8.next().flatMap(hex) else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
