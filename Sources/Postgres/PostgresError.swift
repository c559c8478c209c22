/// A failure talking to PostgreSQL, with whether a retry can help.
///
/// - Important: Messages name the user, host and database where that helps, and never the password.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// The server could not be reached (refused, unreachable, DNS, timeout). Retriable.
        case connectionFailed
        /// An established connection broke, or the server ended the session. Retriable (reconnect).
        case connectionLost
        /// The server rejected the user or password, or pg_hba.conf has no entry. Not retriable.
        case authenticationFailed
        /// The database does not exist. Not retriable.
        case unknownDatabase
        /// The SSL requirements cannot be met (server without SSL, bad certificate). Not retriable.
        case sslFailed
        /// The parameters are invalid (bad sslmode, missing CA file, ...). Not retriable.
        case invalidConfiguration
        /// The server reported an error for a statement; see `sqlState`.
        case serverError
        /// The statement was cancelled (task cancellation or 57014).
        case cancelled
        /// The connection was closed by `close()`.
        case connectionClosed
        /// libpq returned something this module does not expect.
        case protocolViolation
        /// The row encoder's key column is not among the columns.
        case keyColumnMissing
    }

    public var code: Code
    /// The five-character SQLSTATE when the server sent one.
    public var sqlState: String?
    /// What went wrong and what to do about it.
    public var message: String
    /// More context: the server's DETAIL/HINT or libpq's raw message.
    public var detail: String?
    /// The statement that failed, if any.
    public var query: String?
    public var isRetriable: Bool

    public init(
        code: Code,
        sqlState: String? = nil,
        message: String,
        detail: String? = nil,
        query: String? = nil,
        isRetriable: Bool? = nil
    ) {
        self.code = code
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
        self.query = query
        self.isRetriable = isRetriable ?? Self.defaultRetriable(code: code, sqlState: sqlState)
    }

    /// Whether a retry can help, from the code and SQLSTATE.
    ///
    /// Retriable: connection failures and losses, class 08 (connection exception), 57P01 admin_shutdown,
    /// 57P02 crash_shutdown, 57P03 cannot_connect_now, class 53 (insufficient resources, e.g. too many
    /// connections), 40001 serialization_failure, 40P01 deadlock_detected. Everything else (authentication,
    /// unknown database or table, syntax, ...) fails the same way again.
    public static func defaultRetriable(code: Code, sqlState: String?) -> Bool {
        switch code {
        case .connectionFailed, .connectionLost:
            return true
        case .authenticationFailed, .unknownDatabase, .sslFailed, .invalidConfiguration, .cancelled,
            .connectionClosed, .protocolViolation, .keyColumnMissing:
            return false
        case .serverError:
            guard let state = sqlState else { return false }
            if state.hasPrefix("08") || state.hasPrefix("53") { return true }
            return ["57P01", "57P02", "57P03", "40001", "40P01"].contains(state)
        }
    }

    public var description: String {
        var text = "PostgreSQL \(code.rawValue)"
        if let sqlState { text += " [\(sqlState)]" }
        text += ": \(message)"
        if let detail, !detail.isEmpty { text += " (\(detail))" }
        if let query { text += " — query: \(Self.abbreviate(query))" }
        text += isRetriable ? " [retriable]" : " [not retriable]"
        return text
    }

    static func abbreviate(_ query: String) -> String {
        let oneLine = query.split(whereSeparator: \.isNewline).joined(separator: " ")
        return oneLine.count > 200 ? String(oneLine.prefix(200)) + "…" : oneLine
    }
}
