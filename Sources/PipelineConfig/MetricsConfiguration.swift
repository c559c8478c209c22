/// Where the observability endpoints listen (`metrics:`): `/metrics`, `/healthz` and `/readyz`.
public struct MetricsConfiguration: Sendable, Equatable {
    /// A host and port to listen on.
    public struct Address: Sendable, Equatable, CustomStringConvertible {
        public var host: String
        public var port: Int

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        /// `127.0.0.1:9464`, `[::1]:9464` (brackets around an IPv6 address), `localhost:9464`; nil when malformed.
        public init?(parsing text: String) {
            let host: Substring
            let port: Substring
            if text.hasPrefix("[") {
                guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                    return nil
                }
                host = text[text.index(after: text.startIndex)..<close]
                port = text[text.index(close, offsetBy: 2)...]
            } else {
                guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else { return nil }
                host = text[..<colon]
                port = text[text.index(after: colon)...]
            }
            guard !host.isEmpty, !host.contains(where: { $0.isWhitespace }), let number = Int(port),
                  (0...65_535).contains(number) else { return nil }
            self.host = String(host)
            self.port = number
        }

        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    /// nil turns the listener off.
    public var listen: Address? = Address(host: "127.0.0.1", port: 9464)

    public init(listen: Address? = Address(host: "127.0.0.1", port: 9464)) {
        self.listen = listen
    }
}
