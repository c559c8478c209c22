import CLibPQ
import Foundation

/// COPY BOTH for the streaming replication protocol: one thread (the connection's worker) reads and writes.
extension PostgresConnectionCore {
    /// Sends `START_REPLICATION ...`; the server answers by entering COPY BOTH.
    func startCopyBoth(_ sql: String) -> Result<Void, PostgresError> {
        guard let conn, PQstatus(conn) == CONNECTION_OK else {
            return .failure(PostgresError(code: .connectionLost, message: "the replication connection to \(parameters.endpoint) is broken", query: sql))
        }
        guard let result = PQexec(conn, sql) else {
            return .failure(PostgresError.statementFailure(
                sqlState: nil, primary: nil, detail: nil, hint: nil, libpqMessage: Self.errorMessage(conn),
                connectionBroken: PQstatus(conn) != CONNECTION_OK, query: sql))
        }
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_COPY_BOTH else {
            return .failure(PostgresError.statementFailure(
                sqlState: Self.field(result, "C"), primary: Self.field(result, "M"), detail: Self.field(result, "D"),
                hint: Self.field(result, "H"),
                libpqMessage: PQresultErrorMessage(result).map { String(cString: $0) } ?? Self.errorMessage(conn),
                connectionBroken: PQstatus(conn) != CONNECTION_OK, query: sql))
        }
        return .success(())
    }

    /// The next COPY message, waiting on the socket up to `timeout`; nil when none came in time.
    func readCopyData(timeout: Duration) -> Result<[UInt8]?, PostgresError> {
        guard let conn else { return .failure(PostgresError(code: .connectionClosed, message: "the connection is closed")) }
        let deadline = ContinuousClock.now + timeout
        while true {
            var buffer: UnsafeMutablePointer<CChar>?
            let length = PQgetCopyData(conn, &buffer, 1)
            if length > 0, let buffer {
                let bytes = [UInt8](UnsafeRawBufferPointer(start: buffer, count: Int(length)))
                PQfreemem(buffer)
                return .success(bytes)
            }
            if length == -1 { return .failure(streamEnded(conn)) }
            if length == -2 {
                return .failure(PostgresError(code: .connectionLost,
                                              message: "the replication stream from \(parameters.endpoint) broke — reconnect and resume",
                                              detail: Self.errorMessage(conn)))
            }
            // Nothing buffered: wait for the socket, then let libpq read what came.
            let left = deadline - ContinuousClock.now
            guard left > .zero else { return .success(nil) }
            var descriptor = pollfd(fd: PQsocket(conn), events: Int16(POLLIN), revents: 0)
            let milliseconds = Int32(clamping: left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1)
            let ready = poll(&descriptor, 1, milliseconds)
            if ready < 0 && errno != EINTR {
                return .failure(PostgresError(code: .connectionLost, message: "waiting on the replication socket failed: \(String(cString: strerror(errno)))"))
            }
            if ready > 0 && PQconsumeInput(conn) == 0 {
                return .failure(PostgresError(code: .connectionLost,
                                              message: "the replication stream from \(parameters.endpoint) broke — reconnect and resume",
                                              detail: Self.errorMessage(conn)))
            }
        }
    }

    /// Waits up to `timeout` for the first COPY message, then takes every further one that already arrived (up to
    /// `maxMessages`) without waiting: one call per burst instead of one per message.
    func readCopyDataBatch(timeout: Duration, maxMessages: Int) -> Result<[[UInt8]], PostgresError> {
        guard let conn else { return .failure(PostgresError(code: .connectionClosed, message: "the connection is closed")) }
        var messages: [[UInt8]] = []
        switch readCopyData(timeout: timeout) {
        case .failure(let error): return .failure(error)
        case .success(nil): return .success([])
        case .success(let first?): messages.append(first)
        }
        var refilled = false
        while messages.count < maxMessages {
            var buffer: UnsafeMutablePointer<CChar>?
            let length = PQgetCopyData(conn, &buffer, 1)
            if length > 0, let buffer {
                messages.append([UInt8](UnsafeRawBufferPointer(start: buffer, count: Int(length))))
                PQfreemem(buffer)
                refilled = false
                continue
            }
            // Nothing (or an end) buffered: read what the socket holds once more, then stop; an error or the end
            // is reported by the next call, after these messages are handled.
            guard length == 0, !refilled, PQconsumeInput(conn) != 0 else { break }
            refilled = true
        }
        return .success(messages)
    }

    /// Sends one COPY message (a standby status update) and flushes it.
    func writeCopyData(_ bytes: [UInt8]) -> Result<Void, PostgresError> {
        guard let conn else { return .failure(PostgresError(code: .connectionClosed, message: "the connection is closed")) }
        let sent = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { PQputCopyData(conn, $0.baseAddress, Int32($0.count)) }
        }
        guard sent == 1, PQflush(conn) == 0 else {
            return .failure(PostgresError(code: .connectionLost,
                                          message: "sending to the replication stream at \(parameters.endpoint) failed",
                                          detail: Self.errorMessage(conn)))
        }
        return .success(())
    }

    /// The server ended COPY BOTH: its final result says why.
    private func streamEnded(_ conn: OpaquePointer) -> PostgresError {
        var message = "the server ended the replication stream"
        var sqlState: String?
        while let result = PQgetResult(conn) {
            if PQresultStatus(result) != PGRES_COMMAND_OK {
                sqlState = Self.field(result, "C") ?? sqlState
                if let text = PQresultErrorMessage(result).map({ String(cString: $0) }), !text.isEmpty {
                    message += ": " + text.trimmingCharacters(in: .whitespacesAndNewlines)
                }
            }
            PQclear(result)
        }
        return PostgresError(code: .connectionLost, message: message, detail: sqlState.map { "SQLSTATE \($0)" })
    }
}
