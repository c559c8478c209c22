import Foundation

/// Reads the files `kafka.auth` and `kafka.tls` name: the SASL password and the PEM files. Errors name the file and
/// the configuration key that pointed at it.
public enum KafkaSecurityFiles {
    /// The password file to read: `kafka.auth.password_file`, else `$CREDENTIALS_DIRECTORY/kafka_password`.
    public static func passwordPath(_ auth: KafkaAuthSettings, environment: [String: String]) throws(ConfigError) -> String {
        try CredentialFile.resolve(configured: auth.passwordFile, name: "kafka_password", keyPath: "kafka.auth.password_file",
                                   missing: "no password file for mechanism \(auth.mechanism.rawValue)", environment: environment)
    }

    /// The SASL password (the file's content without one trailing newline); nil for mechanisms without one.
    /// `warnings` receives a message when the file is readable by group or others.
    public static func password(_ auth: KafkaAuthSettings, environment: [String: String], warnings: inout [String])
        throws(ConfigError) -> String?
    {
        guard auth.mechanism.usesPassword else { return nil }
        let path = try passwordPath(auth, environment: environment)
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ConfigError(code: .unreadableFile, file: path, mark: nil, keyPath: "",
                              message: "cannot read the Kafka password file (kafka.auth.password_file): \(reason(error))")
        }
        if let attributes = try? FileManager.default.attributesOfItem(atPath: path),
           let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue, mode & 0o077 != 0 {
            warnings.append("\(path) is readable by group or others (mode \(String(mode & 0o777, radix: 8))); "
                            + "restrict it with chmod 600")
        }
        var text = String(decoding: data, as: UTF8.self)
        if text.hasSuffix("\r\n") { text.removeLast() } else if text.hasSuffix("\n") { text.removeLast() }
        if text.isEmpty {
            throw ConfigError(code: .invalidValue, file: path, mark: nil, keyPath: "",
                              message: "the Kafka password file (kafka.auth.password_file) is empty")
        }
        return text
    }

    /// Checks that every file `kafka.tls` names exists and holds PEM: the CA file and the client certificate at
    /// least one `CERTIFICATE` block, the key file one `PRIVATE KEY` block, each with a base64 body.
    public static func checkTLS(_ tls: KafkaTLSSettings) throws(ConfigError) {
        guard tls.enabled else { return }
        let files: [(key: String, path: String?, label: String)] = [
            ("kafka.tls.ca_file", tls.caFile, "CERTIFICATE"),
            ("kafka.tls.cert_file", tls.certFile, "CERTIFICATE"),
            ("kafka.tls.key_file", tls.keyFile, "PRIVATE KEY"),
        ]
        for (key, path, label) in files {
            guard let path else { continue }
            let data: Data
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: path))
            } catch {
                throw ConfigError(code: .unreadableFile, file: path, mark: nil, keyPath: "",
                                  message: "cannot read \(key): \(reason(error))")
            }
            if let problem = PEM.problem(in: String(decoding: data, as: UTF8.self), expecting: label) {
                throw ConfigError(code: .invalidValue, file: path, mark: nil, keyPath: "",
                                  message: "\(key) is not a PEM file: \(problem)")
            }
        }
    }

    private static func reason(_ error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError,
           underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if nsError.domain == NSCocoaErrorDomain, nsError.code == NSFileReadNoSuchFileError {
            return "No such file or directory"
        }
        return nsError.localizedDescription
    }
}
