import YAML

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The database credentials file, `db_creds.yaml`, with the original project's keys
/// `HOST`, `PORT`, `USER`, `PASSWORD`, `DATABASE`.
public struct DatabaseCredentials: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String
    public var database: String
    /// The file they came from.
    public var file: String

    public init(host: String, port: Int, user: String, password: String, database: String, file: String) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.file = file
    }

    /// Never shows the password.
    public var description: String { "\(user)@\(host):\(port)/\(database) (from \(file), password \(password.isEmpty ? "empty" : "***"))" }

    /// The file to read: the configured path, else `$CREDENTIALS_DIRECTORY/db_creds.yaml` (systemd `LoadCredential=`).
    public static func resolvePath(configured: String?, environment: [String: String]) throws(ConfigError) -> String {
        try CredentialFile.resolve(configured: configured, name: "db_creds.yaml", keyPath: "source.credentials_file",
                                   missing: "no credentials file", environment: environment)
    }

    /// Reads and validates the file. `warnings` receives a message when the file is readable by group or others.
    public static func load(file path: String, warnings: inout [String]) throws(ConfigError) -> DatabaseCredentials {
        var info = stat()
        if stat(path, &info) == 0 {
            if info.st_mode & (S_IRWXG | S_IRWXO) != 0 {
                let mode = String(info.st_mode & 0o777, radix: 8)
                warnings.append("\(path) is readable by group or others (mode \(mode)); restrict it with chmod 600")
            }
        } else {
            let reason = String(cString: strerror(errno))
            throw ConfigError(code: .unreadableFile, file: path, mark: nil, keyPath: "",
                              message: "cannot read the database credentials file: \(reason)")
        }
        let root: YAMLNode?
        do {
            root = try YAMLParser.parse(file: path)
        } catch {
            throw ConfigError(error)
        }
        var reader = try ConfigReader(node: root, file: path, path: "")
        let host = try reader.requiredString("HOST")
        let port = try reader.int("PORT", default: 5432, range: 1...65_535)
        let user = try reader.requiredString("USER")
        let password = try reader.string("PASSWORD") ?? ""
        let database = try reader.requiredString("DATABASE")
        try reader.finish()
        return DatabaseCredentials(host: host, port: port, user: user, password: password, database: database, file: path)
    }
}
