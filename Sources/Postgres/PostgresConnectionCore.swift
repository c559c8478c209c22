import CLibPQ
import Foundation

/// The libpq connection handle and the operations on it.
///
/// - Important: Every method runs on the owning connection's worker thread only.
final class PostgresConnectionCore: @unchecked Sendable {
    // @unchecked Sendable: `conn` is read and written only by jobs on the connection's BlockingExecutor,
    // which runs them one at a time; no other thread ever dereferences it. The instance is shared with the
    // jobs (hence Sendable) but not its state.
    private(set) var conn: OpaquePointer?
    let parameters: PostgresConnectionParameters

    init(parameters: PostgresConnectionParameters) {
        self.parameters = parameters
    }

    // MARK: Connecting

    /// Connects; on success returns the server version and a cancel handle.
    func open() -> Result<(serverVersion: Int, cancel: PostgresCancelHandle?), PostgresError> {
        let p = parameters
        var options = "-c DateStyle=ISO,MDY -c IntervalStyle=postgres -c extra_float_digits=1"
        if let zone = p.timeZone { options += " -c TimeZone=\(Self.escapeOption(zone))" }
        var pairs: [(String, String)] = [
            ("host", p.host),
            ("port", String(p.port)),
            ("user", p.user),
            ("password", p.password),
            ("dbname", p.database),
            ("sslmode", p.sslMode),
            ("connect_timeout", String(Self.seconds(p.connectTimeout))),
            ("application_name", p.applicationName),
            ("client_encoding", "UTF8"),
            ("options", options),
        ]
        if let root = p.sslRootCert { pairs.append(("sslrootcert", root)) }
        if p.replication { pairs.append(("replication", "database")) }

        let keywords = pairs.map { strdup($0.0) }
        let values = pairs.map { strdup($0.1) }
        defer {
            keywords.forEach { free($0) }
            values.forEach { free($0) }
        }
        var keywordPointers: [UnsafePointer<CChar>?] = keywords.map { UnsafePointer($0) } + [nil]
        var valuePointers: [UnsafePointer<CChar>?] = values.map { UnsafePointer($0) } + [nil]
        let connection = keywordPointers.withUnsafeMutableBufferPointer { k in
            valuePointers.withUnsafeMutableBufferPointer { v in
                PQconnectdbParams(k.baseAddress, v.baseAddress, 0)
            }
        }
        guard let connection else {
            return .failure(PostgresError(code: .connectionFailed, message: "libpq could not allocate a connection (out of memory)"))
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = Self.errorMessage(connection)
            PQfinish(connection)
            return .failure(PostgresError.connectFailure(libpqMessage: message, parameters: p))
        }
        conn = connection
        return .success((Int(PQserverVersion(connection)), PQgetCancel(connection).map(PostgresCancelHandle.init)))
    }

    /// Closes the connection (idempotent).
    func finish() {
        if let conn { PQfinish(conn) }
        conn = nil
    }

    var isConnected: Bool {
        guard let conn else { return false }
        return PQstatus(conn) == CONNECTION_OK
    }

    /// Whether the session is outside any transaction block.
    var isIdle: Bool {
        guard let conn else { return false }
        return PQtransactionStatus(conn) == PQTRANS_IDLE
    }

    // MARK: Statements

    /// Runs one statement (or, without parameters, a semicolon-separated script) and returns its result,
    /// which the caller owns. Rows come in text format.
    func exec(_ sql: String, _ params: [String?]) -> Result<OpaquePointer, PostgresError> {
        guard let conn else {
            return .failure(PostgresError(code: .connectionClosed, message: "the connection is closed", query: sql))
        }
        guard PQstatus(conn) == CONNECTION_OK else {
            return .failure(PostgresError(
                code: .connectionLost, message: "the connection to \(parameters.endpoint) is broken — reconnect and retry",
                detail: Self.errorMessage(conn), query: sql))
        }
        let result: OpaquePointer?
        if params.isEmpty {
            result = PQexec(conn, sql)
        } else {
            let copies = params.map { $0.map { strdup($0) } ?? nil }
            defer { copies.forEach { free($0) } }
            let pointers: [UnsafePointer<CChar>?] = copies.map { $0.map { UnsafePointer($0) } }
            result = pointers.withUnsafeBufferPointer { buffer in
                PQexecParams(conn, sql, Int32(params.count), nil, buffer.baseAddress, nil, nil, 0)
            }
        }
        guard let result else {
            return .failure(PostgresError.statementFailure(
                sqlState: nil, primary: nil, detail: nil, hint: nil, libpqMessage: Self.errorMessage(conn),
                connectionBroken: PQstatus(conn) != CONNECTION_OK, query: sql))
        }
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return .success(result)
        default:
            let error = PostgresError.statementFailure(
                sqlState: Self.field(result, "C"),
                primary: Self.field(result, "M"),
                detail: Self.field(result, "D"),
                hint: Self.field(result, "H"),
                libpqMessage: PQresultErrorMessage(result).map { String(cString: $0) } ?? Self.errorMessage(conn),
                connectionBroken: PQstatus(conn) != CONNECTION_OK, query: sql)
            PQclear(result)
            return .failure(error)
        }
    }

    /// Runs a command and discards its result.
    func command(_ sql: String, _ params: [String?] = []) -> Result<Void, PostgresError> {
        exec(sql, params).map { PQclear($0) }
    }

    /// Ends the current transaction without caring about the outcome (cleanup path).
    func rollbackQuietly() {
        guard isConnected, !isIdle else { return }
        _ = command("ROLLBACK")
    }

    // MARK: Helpers

    /// A diagnostic field by its protocol letter ('C' SQLSTATE, 'M' message, 'D' detail, 'H' hint — libpq's
    /// PG_DIAG_* macros are character literals Swift does not import).
    static func field(_ result: OpaquePointer, _ code: Unicode.Scalar) -> String? {
        PQresultErrorField(result, Int32(code.value)).map { String(cString: $0) }
    }

    static func errorMessage(_ conn: OpaquePointer) -> String {
        PQerrorMessage(conn).map { String(cString: $0) }?.trimmingWhitespace() ?? "unknown libpq error"
    }

    /// libpq's connect_timeout is whole seconds; anything positive below 2 becomes 2 in libpq anyway.
    static func seconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        let rounded = seconds + (attoseconds > 0 ? 1 : 0)
        return max(Int(rounded), 1)
    }

    /// Escapes a value for libpq's `options` (backslash before spaces and backslashes).
    static func escapeOption(_ value: String) -> String {
        var out = ""
        for ch in value {
            if ch == " " || ch == "\\" { out.append("\\") }
            out.append(ch)
        }
        return out
    }
}
