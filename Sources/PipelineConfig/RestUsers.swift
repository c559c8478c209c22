import YAML

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The users of the REST endpoint's basic authentication (`rest_users.yaml`, mode 0600):
///
/// ```yaml
/// users:
///   ingest: "a long random password"
/// ```
///
/// - Important: `description` never shows a password, and nothing here logs one.
public struct RestUsers: Sendable, Equatable, CustomStringConvertible {
    /// User name -> password.
    public var passwords: [String: String]
    public var file: String

    public init(passwords: [String: String], file: String) {
        self.passwords = passwords
        self.file = file
    }

    public var description: String { "\(passwords.count) user(s) from \(file) (passwords ***)" }

    /// The file to read: the configured path, else `$CREDENTIALS_DIRECTORY/rest_users.yaml`.
    public static func resolvePath(configured: String?, environment: [String: String]) throws(ConfigError) -> String {
        try CredentialFile.resolve(configured: configured, name: "rest_users.yaml", keyPath: "rest.credentials_file",
                                   missing: "rest.authentication is basic but there is no users file", environment: environment)
    }

    /// Reads and validates the file; `warnings` receives a message when group or others may read it.
    public static func load(file path: String, warnings: inout [String]) throws(ConfigError) -> RestUsers {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let reason = String(cString: strerror(errno))
            throw ConfigError(code: .unreadableFile, file: path, mark: nil, keyPath: "",
                              message: "cannot read the REST users file: \(reason)")
        }
        if info.st_mode & (S_IRWXG | S_IRWXO) != 0 {
            let mode = String(info.st_mode & 0o777, radix: 8)
            warnings.append("\(path) is readable by group or others (mode \(mode)); restrict it with chmod 600")
        }
        let root: YAMLNode?
        do {
            root = try YAMLParser.parse(file: path)
        } catch {
            throw ConfigError(error)
        }
        var reader = try ConfigReader(node: root, file: path, path: "")
        let users = try reader.stringMap("users")
        try reader.finish()
        guard !users.isEmpty else {
            throw ConfigError(code: .missingValue, file: path, mark: nil, keyPath: "users",
                              message: "no users: list at least one `name: password` under users")
        }
        for (name, password) in users {
            if name.isEmpty || name.contains(":") {
                throw ConfigError(code: .invalidValue, file: path, mark: nil, keyPath: "users.\(name)",
                                  message: "a user name must be non-empty and must not contain ':'")
            }
            if password.isEmpty {
                throw ConfigError(code: .invalidValue, file: path, mark: nil, keyPath: "users.\(name)",
                                  message: "empty password")
            }
        }
        return RestUsers(passwords: users, file: path)
    }
}
