/// Decides which configuration values are secrets, so that nothing secret reaches logs or `check-config` output.
public enum SecretMasking {
    public static let mask = "***"

    /// librdkafka-style property names holding secrets: passwords, keys, tokens, JAAS configs.
    public static func isSecretProperty(_ name: String) -> Bool {
        let lower = name.lowercased()
        if lower.contains("password") || lower.contains("secret") || lower.contains("token") { return true }
        if lower.hasPrefix("sasl.jaas") || lower.hasSuffix(".key.pem") || lower == "ssl.key.pem" { return true }
        if lower.hasPrefix("ssl.key") || lower.hasPrefix("ssl_key") { return true }
        return false
    }

    /// A copy of `properties` with secret values replaced by `***`.
    public static func masked(_ properties: [String: String]) -> [String: String] {
        properties.reduce(into: [:]) { result, entry in
            result[entry.key] = isSecretProperty(entry.key) ? mask : entry.value
        }
    }
}
