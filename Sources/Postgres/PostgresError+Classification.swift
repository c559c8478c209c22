extension PostgresError {
    /// Turns libpq's message for a failed connection attempt into an error that says what to do.
    ///
    /// libpq has no SQLSTATE for connection failures, so this reads the (English) message text. It is a pure
    /// function so the classification is tested without a server.
    public static func connectFailure(libpqMessage raw: String, parameters p: PostgresConnectionParameters)
        -> PostgresError
    {
        let text = raw.trimmingWhitespace()
        let where_ = "at \(p.endpoint)"
        func has(_ needle: String) -> Bool { text.contains(needle) }

        if has("password authentication failed") || has("fe_sendauth: no password supplied") {
            return PostgresError(
                code: .authenticationFailed, sqlState: "28P01",
                message: "password authentication failed for user \"\(p.user)\" \(where_) — check USER and PASSWORD in db_creds.yaml",
                detail: text)
        }
        if has("role \"") && has("does not exist") {
            return PostgresError(
                code: .authenticationFailed, sqlState: "28000",
                message: "user \"\(p.user)\" does not exist \(where_) — check USER in db_creds.yaml",
                detail: text)
        }
        if has("no pg_hba.conf entry") || has("authentication failed") {
            return PostgresError(
                code: .authenticationFailed, sqlState: "28000",
                message: "the server \(where_) rejects user \"\(p.user)\" for database \"\(p.database)\" — check USER, DATABASE and the server's pg_hba.conf (SSL may be required)",
                detail: text)
        }
        if has("database \"") && has("does not exist") {
            return PostgresError(
                code: .unknownDatabase, sqlState: "3D000",
                message: "database \"\(p.database)\" does not exist \(where_) — check DATABASE in db_creds.yaml",
                detail: text)
        }
        if has("server does not support SSL") {
            return PostgresError(
                code: .sslFailed,
                message: "the server \(where_) does not support SSL but sslmode is \(p.sslMode) — enable SSL on the server or use sslmode prefer/disable",
                detail: text)
        }
        if has("certificate") || has("SSL error") || has("SSL SYSCALL") || has("sslmode") {
            return PostgresError(
                code: .sslFailed,
                message: "SSL negotiation with \(where_) failed (sslmode \(p.sslMode)) — check sslRootCert and that the server certificate matches the host",
                detail: text)
        }
        if has("too many clients") || has("too many connections") || has("remaining connection slots") {
            return PostgresError(
                code: .connectionFailed, sqlState: "53300",
                message: "the server \(where_) has no free connection slots — it will be retried",
                detail: text)
        }
        if has("the database system is") {  // starting up, shutting down, in recovery mode
            return PostgresError(
                code: .connectionFailed, sqlState: "57P03",
                message: "the server \(where_) cannot accept connections right now — it will be retried",
                detail: text)
        }
        if has("could not translate host name") {
            return PostgresError(
                code: .connectionFailed,
                message: "cannot resolve host \"\(p.host)\" — check HOST in db_creds.yaml and DNS",
                detail: text)
        }
        if has("timeout expired") {
            return PostgresError(
                code: .connectionFailed,
                message: "connecting to \(p.endpoint) timed out after \(p.connectTimeout) — check HOST, PORT and the network path (security groups)",
                detail: text)
        }
        if has("Connection refused") {
            return PostgresError(
                code: .connectionFailed,
                message: "connection refused \(where_) — is PostgreSQL running there? check HOST and PORT in db_creds.yaml",
                detail: text)
        }
        if has("server closed the connection") || has("terminating connection") {
            return PostgresError(
                code: .connectionFailed,
                message: "the server \(where_) closed the connection during startup — it will be retried",
                detail: text)
        }
        if has("invalid") && (has("option") || has("value") || has("parameter")) {
            return PostgresError(
                code: .invalidConfiguration,
                message: "libpq rejected the connection parameters for \(p.endpoint) — check the PostgreSQL settings",
                detail: text)
        }
        return PostgresError(
            code: .connectionFailed,
            message: "cannot connect to \(p.endpoint) as \"\(p.user)\" — check HOST and PORT and that the server is up",
            detail: text)
    }

    /// The error for a failed statement, from the server's diagnostic fields.
    static func statementFailure(
        sqlState: String?, primary: String?, detail: String?, hint: String?, libpqMessage: String,
        connectionBroken: Bool, query: String
    ) -> PostgresError {
        let detailText = [detail, hint.map { "hint: \($0)" }].compactMap { $0 }.joined(separator: "; ")
        let primaryText = primary ?? libpqMessage.trimmingWhitespace()
        if sqlState == "57014" {
            return PostgresError(
                code: .cancelled, sqlState: sqlState, message: "statement cancelled: \(primaryText)",
                detail: detailText.isEmpty ? nil : detailText, query: query)
        }
        if connectionBroken {
            return PostgresError(
                code: .connectionLost, sqlState: sqlState,
                message: "lost the connection to PostgreSQL: \(primaryText) — reconnect and retry",
                detail: detailText.isEmpty ? nil : detailText, query: query)
        }
        var message = primaryText
        switch sqlState {
        case "42P01": message += " — check that the table exists and the configured table name"
        case "42703": message += " — check the configured column names against the table"
        case "42601": message += " — the SQL statement is invalid"
        case "42501": message += " — grant the user SELECT on the table"
        default: break
        }
        return PostgresError(
            code: .serverError, sqlState: sqlState, message: message,
            detail: detailText.isEmpty ? nil : detailText, query: query)
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
