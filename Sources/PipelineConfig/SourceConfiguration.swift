/// Where rows come from and how they are read.
public struct SourceConfiguration: Sendable, Equatable {
    public enum Mode: String, Sendable, CaseIterable {
        /// The original emulator: one random key per event, read from all three tables, 0–1 s apart.
        case emulate
        /// Every row of the three tables once, then idle (or exit with `--once`).
        case snapshot
        /// Snapshot, then poll for rows whose key is above the checkpoint.
        case follow
        /// Change data capture: a consistent snapshot, then every insert, update, delete and truncate from
        /// PostgreSQL's logical replication (`pinpipe cdc setup` first).
        case cdc
    }

    public var mode: Mode = .snapshot
    /// Path of `db_creds.yaml`; nil means `$CREDENTIALS_DIRECTORY/db_creds.yaml` (systemd `LoadCredential=`).
    public var credentialsFile: String?
    public var sslMode: SSLMode = .prefer
    /// CA bundle for `verify-ca` / `verify-full`.
    public var sslRootCert: String?
    public var connectTimeout: Duration = .seconds(10)
    /// Session time zone for timestamptz rendering; nil keeps the server's.
    public var timeZone: String?
    public var tables: [TableSource] = TableSource.defaults
    /// Rows fetched per round trip of the server-side cursor.
    public var fetchSize: Int = 5_000
    /// Follow mode: how often to look for new rows.
    public var pollInterval: Duration = .seconds(5)
    /// Exit once the snapshot is delivered instead of idling (same as `run --once`).
    public var exitWhenDone: Bool = false
    /// Give every record a `pinpipe.table` header (the table's name). Off by default: the topic names the table
    /// already, and the header cost about a third of the producer's CPU (issue 15). CDC records always carry
    /// `pinpipe.op`, `pinpipe.lsn` and `pinpipe.commit_ts`; `pinpipe.table` only when this is on.
    public var tableHeader: Bool = false
    public var emulate: EmulateSettings = .init()
    public var cdc: ChangeCaptureSettings = .init()
    public var reconnect: ReconnectSettings = .init()

    public init() {}

    public enum SSLMode: String, Sendable, CaseIterable {
        case disable, allow, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }
}

/// One table and the topic suffix it feeds.
public struct TableSource: Sendable, Equatable {
    /// Topic suffix: `pin`, `geo` or `user` (topic = `<prefix>.<name>`).
    public var name: String
    public var table: String
    /// Integer key column: record key, emulate offset and follow checkpoint.
    public var keyColumn: String

    public init(name: String, table: String, keyColumn: String) {
        self.name = name
        self.table = table
        self.keyColumn = keyColumn
    }

    public static let defaults: [TableSource] = [
        TableSource(name: "pin", table: "pinterest_data", keyColumn: "index"),
        TableSource(name: "geo", table: "geolocation_data", keyColumn: "ind"),
        TableSource(name: "user", table: "user_data", keyColumn: "ind"),
    ]
}

public struct EmulateSettings: Sendable, Equatable {
    /// Seed of the random sequence; 100 reproduces the original emulator's keys (7528, 2863, 5730, …).
    public var seed: UInt32? = 100
    /// Keys are drawn from 0...maxKey, as the original's `randint(0, 11000)`.
    public var maxKey: Int = 11_000
    /// Events per second; nil sleeps 0 or 1 s between events exactly like the original.
    public var rate: Double?
    /// Stop after this many events; nil runs forever.
    public var limit: Int?

    public init(seed: UInt32? = 100, maxKey: Int = 11_000, rate: Double? = nil, limit: Int? = nil) {
        self.seed = seed
        self.maxKey = maxKey
        self.rate = rate
        self.limit = limit
    }
}

public struct ReconnectSettings: Sendable, Equatable {
    public var initialDelay: Duration = .milliseconds(500)
    public var maxDelay: Duration = .seconds(30)
    /// Connection attempts at start-up before giving up (a wrong host fails the start, not a retry storm).
    public var startupAttempts: Int = 5

    public init(initialDelay: Duration = .milliseconds(500), maxDelay: Duration = .seconds(30), startupAttempts: Int = 5) {
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.startupAttempts = startupAttempts
    }
}

/// Change data capture from PostgreSQL's logical replication (`pinpipe cdc setup`, `source.mode: cdc`).
public struct ChangeCaptureSettings: Sendable, Equatable {
    /// The logical replication slot; nil means `pinpipe_<topic prefix>` (lower case, `_` for other characters).
    public var slot: String?
    /// The publication of the configured tables; nil means the slot's name.
    public var publication: String?
    /// Replication lag (WAL the slot holds back) above which pinpipe warns.
    public var lagWarningBytes: Int = 1 << 30

    public init() {}

    /// A slot or publication name PostgreSQL accepts for a replication slot: lower-case letters, digits and `_`,
    /// at most 63 characters.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 63
            && name.utf8.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: "_") }
    }

    /// The name derived from a topic prefix.
    public static func defaultName(topicPrefix: String) -> String {
        let cleaned = String(decoding: topicPrefix.lowercased().utf8.map {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) ? $0 : UInt8(ascii: "_")
        }, as: UTF8.self)
        return String(("pinpipe_" + cleaned).prefix(63))
    }
}
