/// The listener could not start.
public struct HTTPServerError: Error, CustomStringConvertible, Sendable {
    /// What was asked for, e.g. `127.0.0.1:9464`.
    public var address: String
    public var reason: String

    public init(address: String, reason: String) {
        self.address = address
        self.reason = reason
    }

    public var description: String { "cannot listen on \(address): \(reason)" }
}
