/// Where and how to connect to PostgreSQL.
///
/// - Important: `description` never shows the password, so the value can be logged as is.
public struct PostgresConnectionParameters: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String
    public var database: String
    /// libpq's `sslmode`: disable, allow, prefer, require, verify-ca or verify-full.
    public var sslMode: String
    /// CA file for verify-ca / verify-full (libpq's `sslrootcert`).
    public var sslRootCert: String?
    public var connectTimeout: Duration
    public var applicationName: String
    /// Session `TimeZone`; nil keeps the server's setting. Affects how timestamptz values are printed.
    public var timeZone: String?
    /// A logical replication connection (`replication=database`): it takes replication commands
    /// (`IDENTIFY_SYSTEM`, `CREATE_REPLICATION_SLOT`, `START_REPLICATION`) as well as plain SQL.
    public var replication = false

    public static let sslModes: Set<String> = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]

    public init(
        host: String,
        port: Int,
        user: String,
        password: String,
        database: String,
        sslMode: String = "prefer",
        sslRootCert: String? = nil,
        connectTimeout: Duration = .seconds(10),
        applicationName: String = "pinpipe",
        timeZone: String? = nil
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.sslMode = sslMode
        self.sslRootCert = sslRootCert
        self.connectTimeout = connectTimeout
        self.applicationName = applicationName
        self.timeZone = timeZone
    }

    /// `host:port`, as error messages show it.
    public var endpoint: String { "\(host):\(port)" }
}

extension PostgresConnectionParameters: CustomStringConvertible {
    public var description: String {
        var text = "postgresql://\(user)@\(host):\(port)/\(database) sslmode=\(sslMode)"
        if let sslRootCert { text += " sslrootcert=\(sslRootCert)" }
        if let timeZone { text += " timezone=\(timeZone)" }
        if replication { text += " replication=database" }
        return text
    }
}
