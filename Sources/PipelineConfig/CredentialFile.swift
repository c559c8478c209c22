/// Where a secret file is: the configured path, else the file systemd's `LoadCredential=` put in
/// `$CREDENTIALS_DIRECTORY` under its credential name. One rule for the database, Kafka and REST secrets.
public enum CredentialFile {
    /// - Parameters:
    ///   - name: the credential's name (`LoadCredential=NAME:/etc/pinpipe/NAME`).
    ///   - keyPath: the configuration key that sets the path, for the error.
    ///   - missing: what the error says first (why a file is needed).
    public static func resolve(configured: String?, name: String, keyPath: String, missing: String,
                               environment: [String: String]) throws(ConfigError) -> String {
        if let configured { return configured }
        if let directory = environment["CREDENTIALS_DIRECTORY"], !directory.isEmpty { return directory + "/" + name }
        throw ConfigError(code: .missingValue, file: "<configuration>", mark: nil, keyPath: keyPath,
                          message: "\(missing): set \(keyPath), or run under systemd with LoadCredential=\(name):/etc/pinpipe/\(name)")
    }
}
