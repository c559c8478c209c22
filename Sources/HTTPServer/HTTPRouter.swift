import NIOHTTP1

/// Routes a request by exact path, then method: an unknown path gets 404, a known path with a method it does not
/// serve 405 (with `Allow`). `HEAD` is served by the `GET` handler, without the body.
public struct HTTPRouter: Sendable {
    public typealias Handler = @Sendable (HTTPRequest) async -> HTTPResponse

    private var routes: [String: [String: Handler]] = [:]

    public init() {}

    /// Serves `method` on `path` with `handler`; a later registration of the same pair replaces it.
    public mutating func on(_ method: HTTPMethod, _ path: String, _ handler: @escaping Handler) {
        routes[path, default: [:]][method.rawValue] = handler
    }

    /// The registered paths, sorted (for logs and index pages).
    public var paths: [String] { routes.keys.sorted() }

    public func respond(to request: HTTPRequest) async -> HTTPResponse {
        guard let methods = routes[request.path] else {
            return .text(.notFound, "not found: \(request.path) (served: \(paths.joined(separator: ", ")))")
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
        var response = HTTPResponse.text(.methodNotAllowed, "\(request.method.rawValue) is not allowed on \(request.path)")
        response.headers.add(name: "Allow", value: allowed.joined(separator: ", "))
        return response
    }
}
