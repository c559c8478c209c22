/// Where rows come from and how they are read.
public struct SourceConfiguration: Sendable, Equatable {
    public enum Mode: String, Sendable, CaseIterable {
        /// The original emulator: one random key per event, read from all three tables, 0–1 s apart.
        case emulate
        /// Every row of the three tables once, then idle (or exit with `--once`).
        case snapshot
        /// Snapshot, then poll for rows whose key is above the checkpoint.
        case follow
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
    public var emulate: EmulateSettings = .init()
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
