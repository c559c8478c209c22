/// Where an ``HTTPServer`` listens and how long it lets a client take.
public struct HTTPServerConfiguration: Sendable, Equatable {
    public var host: String
    /// 0 picks a free port (tests); ``HTTPServer`` reports the bound one.
    public var port: Int
    /// A connection waiting for a request (a new one, or kept alive after a response) is closed after this long.
    /// It also bounds how long a client may take to send a request's head.
    public var idleTimeout: Duration
    /// A request's body must have arrived this long after its head, or the connection is closed.
    public var requestTimeout: Duration
    /// A larger body is answered with 413 and the connection closed.
    public var maxBodyBytes: Int
    /// Connections beyond this many are closed as soon as they are accepted.
    public var maxConnections: Int

    public init(host: String, port: Int, idleTimeout: Duration = .seconds(30), requestTimeout: Duration = .seconds(10),
                maxBodyBytes: Int = 1 << 20, maxConnections: Int = 64) {
        self.host = host
        self.port = port
        self.idleTimeout = idleTimeout
        self.requestTimeout = requestTimeout
        self.maxBodyBytes = maxBodyBytes
        self.maxConnections = maxConnections
    }

    /// `host:port`, with brackets around an IPv6 host.
    public var address: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
