import AsyncHTTPClient

enum HTTPClientFactory {
    /// A client with short connect timeouts, for tests (callers shut it down).
    static func make() -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.timeout.connect = .milliseconds(500)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }
}
