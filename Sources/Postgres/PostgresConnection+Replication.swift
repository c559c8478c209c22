import Foundation

/// The logical replication commands, on a connection opened with `replication: true`.
extension PostgresConnection {
    /// What `IDENTIFY_SYSTEM` reports.
    public struct SystemIdentity: Sendable, Equatable {
        public var systemID: String
        public var timeline: Int
        /// The server's current end of WAL.
        public var walPosition: PostgresLSN
        public var database: String?
    }

    /// A slot made by `CREATE_REPLICATION_SLOT`.
    public struct CreatedSlot: Sendable, Equatable {
        public var name: String
        /// Changes committed after this point are streamed; everything before it is in the exported snapshot.
        public var consistentPoint: PostgresLSN
        /// The exported snapshot (`SET TRANSACTION SNAPSHOT`); it stays valid until this connection runs its next
        /// command, so read the tables before starting the stream.
        public var snapshotName: String?
    }

    public func identifySystem() async throws(PostgresError) -> SystemIdentity {
        let rows = try await query("IDENTIFY_SYSTEM")
        guard rows.count == 1, let id = rows.string(row: 0, column: 0),
              let timeline = rows.string(row: 0, column: 1).flatMap({ Int($0) }),
              let position = rows.string(row: 0, column: 2).flatMap({ PostgresLSN($0) })
        else { throw PostgresError(code: .protocolViolation, message: "IDENTIFY_SYSTEM answered in an unexpected shape", query: "IDENTIFY_SYSTEM") }
        return SystemIdentity(systemID: id, timeline: timeline, walPosition: position, database: rows.string(row: 0, column: 3))
    }

    /// Creates a logical slot for `pgoutput`; with `exportSnapshot` its consistent point comes with a snapshot.
    /// A `temporary` slot disappears when this connection closes.
    public func createReplicationSlot(_ name: String, exportSnapshot: Bool, temporary: Bool = false) async throws(PostgresError)
        -> CreatedSlot
    {
        let sql = "CREATE_REPLICATION_SLOT \(Self.quoteIdentifier(name))\(temporary ? " TEMPORARY" : "") LOGICAL pgoutput (SNAPSHOT '\(exportSnapshot ? "export" : "nothing")')"
        let rows = try await query(sql)
        guard rows.count == 1, let point = rows.string(row: 0, column: 1).flatMap({ PostgresLSN($0) }) else {
            throw PostgresError(code: .protocolViolation, message: "CREATE_REPLICATION_SLOT answered in an unexpected shape", query: sql)
        }
        return CreatedSlot(name: rows.string(row: 0, column: 0) ?? name, consistentPoint: point,
                           snapshotName: rows.string(row: 0, column: 2))
    }

    /// Enters COPY BOTH: the server streams the changes committed after `from` (after the slot's confirmed flush
    /// position when that is later) for the publications.
    public func startReplication(slot: String, from: PostgresLSN, publications: [String]) async throws(PostgresError) {
        let names = publications.map { $0.replacingOccurrences(of: "\"", with: "\"\"") }.joined(separator: ",")
        let sql = "START_REPLICATION SLOT \(Self.quoteIdentifier(slot)) LOGICAL \(from) (proto_version '1', publication_names '\(names.replacingOccurrences(of: "'", with: "''"))')"
        try await perform("starting replication") { $0.startCopyBoth(sql) }.get()
    }

    /// The next frame of the stream, or nil when none came within `timeout`.
    public func readReplicationFrame(timeout: Duration) async throws(PostgresError) -> ReplicationFrame? {
        guard let bytes = try await perform("reading the replication stream", { $0.readCopyData(timeout: timeout) }).get() else {
            return nil
        }
        do {
            return try ReplicationFrame.decode(bytes)
        } catch {
            throw PostgresError(code: .protocolViolation, message: "\(error)")
        }
    }

    /// Waits up to `timeout` for the next message, then returns it with every further one already received (at
    /// most `maxFrames`); empty when none came in time.
    public func readReplicationFrames(timeout: Duration, maxFrames: Int = 1024) async throws(PostgresError) -> [ReplicationFrame] {
        let messages = try await perform("reading the replication stream", {
            $0.readCopyDataBatch(timeout: timeout, maxMessages: maxFrames)
        }).get()
        do {
            return try messages.map { try ReplicationFrame.decode($0) }
        } catch {
            throw PostgresError(code: .protocolViolation, message: "\(error)")
        }
    }

    /// Tells the server how far the changes are handled: it keeps the WAL after `flushed`, and a new stream on
    /// the slot starts there.
    public func sendStandbyStatus(received: PostgresLSN, flushed: PostgresLSN, now: PostgresTimestamp,
                                  replyRequested: Bool = false) async throws(PostgresError) {
        let bytes = ReplicationFrame.standbyStatus(written: received, flushed: flushed, applied: flushed, now: now,
                                                   replyRequested: replyRequested)
        try await perform("sending a standby status update") { $0.writeCopyData(bytes) }.get()
    }

    static func quoteIdentifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

extension PostgresTimestamp {
    /// The current time.
    public static var now: PostgresTimestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return PostgresTimestamp(microseconds: (Int64(spec.tv_sec) - epochOffset) * 1_000_000 + Int64(spec.tv_nsec) / 1000)
    }
}
