/// One message of PostgreSQL's logical replication protocol as the `pgoutput` plugin writes it (protocol version 1;
/// PostgreSQL's documentation, "Logical Replication Message Formats"). All integers are big-endian.
public enum PgOutputMessage: Sendable, Equatable {
    /// A transaction starts: the LSN of its commit record, its commit time and its id.
    case begin(finalLSN: PostgresLSN, commitTime: PostgresTimestamp, xid: UInt32)
    /// A transaction ends: the commit record's LSN and the LSN just after it (what a standby confirms).
    case commit(commitLSN: PostgresLSN, endLSN: PostgresLSN, commitTime: PostgresTimestamp)
    /// The changes that follow come from another replication origin.
    case origin(lsn: PostgresLSN, name: String)
    /// A table's shape; sent before the first change of a table in a session, and again after it changed.
    case relation(PgOutputRelation)
    /// A user-defined type's name (columns of such a type name its OID).
    case type(oid: UInt32, namespace: String, name: String)
    case insert(relation: UInt32, new: PgOutputTuple)
    /// `old` is the replica identity's columns (key: `K`) or the whole old row (`O`, REPLICA IDENTITY FULL);
    /// nil when the key did not change under the default identity.
    case update(relation: UInt32, old: PgOutputTuple?, oldIsKeyOnly: Bool, new: PgOutputTuple)
    case delete(relation: UInt32, old: PgOutputTuple, oldIsKeyOnly: Bool)
    case truncate(relations: [UInt32], cascade: Bool, restartIdentity: Bool)
    /// A message written by `pg_logical_emit_message` (only when the `messages` option is on).
    case logicalMessage(transactional: Bool, lsn: PostgresLSN, prefix: String, content: [UInt8])

    /// Decodes one message (the payload of one XLogData frame, or one row of
    /// `pg_logical_slot_peek_binary_changes`).
    ///
    /// - Throws: `PgOutputError` naming the message kind and the byte where the input stops making sense.
    public static func decode(_ bytes: [UInt8]) throws(PgOutputError) -> PgOutputMessage {
        var reader = PgOutputReader(bytes)
        let kind = try reader.byte("message kind")
        let message: PgOutputMessage
        switch kind {
        case UInt8(ascii: "B"):
            message = .begin(finalLSN: PostgresLSN(try reader.uint64("final LSN")),
                             commitTime: PostgresTimestamp(microseconds: try reader.int64("commit time")),
                             xid: try reader.uint32("xid"))
        case UInt8(ascii: "C"):
            _ = try reader.byte("flags")
            message = .commit(commitLSN: PostgresLSN(try reader.uint64("commit LSN")),
                              endLSN: PostgresLSN(try reader.uint64("end LSN")),
                              commitTime: PostgresTimestamp(microseconds: try reader.int64("commit time")))
        case UInt8(ascii: "O"):
            message = .origin(lsn: PostgresLSN(try reader.uint64("origin LSN")), name: try reader.string("origin name"))
        case UInt8(ascii: "R"):
            message = .relation(try PgOutputRelation(reading: &reader))
        case UInt8(ascii: "Y"):
            message = .type(oid: try reader.uint32("type OID"), namespace: try reader.string("type namespace"),
                            name: try reader.string("type name"))
        case UInt8(ascii: "I"):
            let relation = try reader.uint32("relation OID")
            try reader.expect(UInt8(ascii: "N"), "insert's new tuple marker")
            message = .insert(relation: relation, new: try PgOutputTuple(reading: &reader))
        case UInt8(ascii: "U"):
            let relation = try reader.uint32("relation OID")
            var marker = try reader.byte("update's tuple marker")
            var old: PgOutputTuple?
            let keyOnly = marker == UInt8(ascii: "K")
            if marker == UInt8(ascii: "K") || marker == UInt8(ascii: "O") {
                old = try PgOutputTuple(reading: &reader)
                marker = try reader.byte("update's new tuple marker")
            }
            guard marker == UInt8(ascii: "N") else { throw reader.error("update's new tuple marker is \(marker), not N") }
            message = .update(relation: relation, old: old, oldIsKeyOnly: keyOnly, new: try PgOutputTuple(reading: &reader))
        case UInt8(ascii: "D"):
            let relation = try reader.uint32("relation OID")
            let marker = try reader.byte("delete's tuple marker")
            guard marker == UInt8(ascii: "K") || marker == UInt8(ascii: "O") else {
                throw reader.error("delete's tuple marker is \(marker), not K or O")
            }
            message = .delete(relation: relation, old: try PgOutputTuple(reading: &reader),
                              oldIsKeyOnly: marker == UInt8(ascii: "K"))
        case UInt8(ascii: "T"):
            let count = try reader.uint32("relation count")
            let options = try reader.byte("truncate options")
            var relations: [UInt32] = []
            for _ in 0..<count { relations.append(try reader.uint32("truncated relation OID")) }
            message = .truncate(relations: relations, cascade: options & 1 != 0, restartIdentity: options & 2 != 0)
        case UInt8(ascii: "M"):
            let flags = try reader.byte("message flags")
            let lsn = PostgresLSN(try reader.uint64("message LSN"))
            let prefix = try reader.string("message prefix")
            let length = try reader.uint32("message length")
            message = .logicalMessage(transactional: flags & 1 != 0, lsn: lsn, prefix: prefix,
                                      content: try reader.bytes(Int(length), "message content"))
        default:
            throw reader.error("unknown message kind \(Self.describe(kind))")
        }
        guard reader.atEnd else { throw reader.error("\(reader.remaining) bytes after the \(Self.describe(kind)) message") }
        return message
    }

    static func describe(_ kind: UInt8) -> String {
        (0x21...0x7e).contains(kind) ? "'\(Character(Unicode.Scalar(kind)))'" : "0x" + String(kind, radix: 16)
    }
}

/// A table as a Relation message describes it.
public struct PgOutputRelation: Sendable, Equatable {
    public struct Column: Sendable, Equatable {
        public var name: String
        public var typeOID: UInt32
        public var typeModifier: Int32
        /// Part of the replica identity (the key pgoutput sends for deletes and key-changing updates).
        public var isKey: Bool
    }

    public enum ReplicaIdentity: Sendable, Equatable {
        case `default`, nothing, full, index, other(UInt8)
    }

    public var oid: UInt32
    public var namespace: String
    public var name: String
    public var replicaIdentity: ReplicaIdentity
    public var columns: [Column]

    init(reading reader: inout PgOutputReader) throws(PgOutputError) {
        oid = try reader.uint32("relation OID")
        namespace = try reader.string("relation namespace")
        name = try reader.string("relation name")
        switch try reader.byte("replica identity") {
        case UInt8(ascii: "d"): replicaIdentity = .default
        case UInt8(ascii: "n"): replicaIdentity = .nothing
        case UInt8(ascii: "f"): replicaIdentity = .full
        case UInt8(ascii: "i"): replicaIdentity = .index
        case let other: replicaIdentity = .other(other)
        }
        let count = try reader.uint16("column count")
        columns = []
        columns.reserveCapacity(Int(count))
        for _ in 0..<count {
            let flags = try reader.byte("column flags")
            columns.append(Column(name: try reader.string("column name"), typeOID: try reader.uint32("column type OID"),
                                  typeModifier: Int32(bitPattern: try reader.uint32("column type modifier")),
                                  isKey: flags & 1 != 0))
        }
    }

    public init(oid: UInt32, namespace: String, name: String, replicaIdentity: ReplicaIdentity, columns: [Column]) {
        self.oid = oid
        self.namespace = namespace
        self.name = name
        self.replicaIdentity = replicaIdentity
        self.columns = columns
    }
}

/// A row's columns in a change message.
public struct PgOutputTuple: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        case null
        /// A TOASTed value that did not change; pgoutput leaves it out of updates.
        case unchangedToast
        /// The value in its text output form: a slice of the message's bytes (one message's values share its
        /// storage, so decoding a row allocates no buffer per column).
        case text(ArraySlice<UInt8>)
        /// The value in its binary form (only with the `binary` option, protocol 2 and later).
        case binary(ArraySlice<UInt8>)
    }

    public var values: [Value]

    public init(values: [Value]) { self.values = values }

    init(reading reader: inout PgOutputReader) throws(PgOutputError) {
        let count = try reader.uint16("tuple column count")
        values = []
        values.reserveCapacity(Int(count))
        for _ in 0..<count {
            switch try reader.byte("tuple value kind") {
            case UInt8(ascii: "n"): values.append(.null)
            case UInt8(ascii: "u"): values.append(.unchangedToast)
            case UInt8(ascii: "t"): values.append(.text(try reader.slice(Int(try reader.uint32("value length")), "text value")))
            case UInt8(ascii: "b"): values.append(.binary(try reader.slice(Int(try reader.uint32("value length")), "binary value")))
            case let other: throw reader.error("unknown tuple value kind \(PgOutputMessage.describe(other))")
            }
        }
    }
}

/// PostgreSQL's timestamp: microseconds since 2000-01-01 00:00:00 UTC.
public struct PostgresTimestamp: Sendable, Hashable, Comparable {
    public var microseconds: Int64

    public init(microseconds: Int64) { self.microseconds = microseconds }

    /// Seconds between 1970-01-01 and 2000-01-01.
    static let epochOffset: Int64 = 946_684_800

    /// Milliseconds since the Unix epoch.
    public var unixMilliseconds: Int64 { microseconds / 1000 + Self.epochOffset * 1000 }

    public static func < (lhs: PostgresTimestamp, rhs: PostgresTimestamp) -> Bool { lhs.microseconds < rhs.microseconds }
}

public struct PgOutputError: Error, Sendable, CustomStringConvertible, Equatable {
    public var message: String
    /// The offset in the message where decoding stopped.
    public var offset: Int
    public var description: String { "pgoutput message not understood at byte \(offset): \(message)" }
}
