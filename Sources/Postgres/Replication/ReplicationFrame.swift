/// A message of the streaming replication protocol inside COPY BOTH (PostgreSQL's documentation, "Streaming
/// Replication Protocol"): the server sends WAL data and keepalives.
public enum ReplicationFrame: Sendable, Equatable {
    /// One pgoutput message starting at `walStart`; `walEnd` is the server's current end of WAL.
    case xlogData(walStart: PostgresLSN, walEnd: PostgresLSN, serverTime: PostgresTimestamp, payload: [UInt8])
    /// The server is alive; with `replyRequested` it wants a standby status update at once (or it disconnects
    /// after `wal_sender_timeout`).
    case keepalive(walEnd: PostgresLSN, serverTime: PostgresTimestamp, replyRequested: Bool)

    public static func decode(_ bytes: [UInt8]) throws(PgOutputError) -> ReplicationFrame {
        var reader = PgOutputReader(bytes)
        switch try reader.byte("replication frame kind") {
        case UInt8(ascii: "w"):
            let start = PostgresLSN(try reader.uint64("WAL start"))
            let end = PostgresLSN(try reader.uint64("WAL end"))
            let time = PostgresTimestamp(microseconds: try reader.int64("server time"))
            return .xlogData(walStart: start, walEnd: end, serverTime: time, payload: try reader.bytes(reader.remaining, "WAL data"))
        case UInt8(ascii: "k"):
            let end = PostgresLSN(try reader.uint64("WAL end"))
            let time = PostgresTimestamp(microseconds: try reader.int64("server time"))
            return .keepalive(walEnd: end, serverTime: time, replyRequested: try reader.byte("reply requested") != 0)
        case let other:
            throw reader.error("unknown replication frame kind \(PgOutputMessage.describe(other))")
        }
    }

    /// The standby status update ('r'): WAL received (`written`), durably handled (`flushed`, which lets the
    /// server recycle WAL and is where a restarted stream resumes) and applied, at `now`.
    public static func standbyStatus(written: PostgresLSN, flushed: PostgresLSN, applied: PostgresLSN,
                                     now: PostgresTimestamp, replyRequested: Bool) -> [UInt8] {
        var bytes: [UInt8] = [UInt8(ascii: "r")]
        bytes.reserveCapacity(34)
        for value in [written.value, flushed.value, applied.value, UInt64(bitPattern: now.microseconds)] {
            for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
        }
        bytes.append(replyRequested ? 1 : 0)
        return bytes
    }
}
