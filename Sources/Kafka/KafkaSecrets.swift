/// Decides which librdkafka properties hold secrets, so their values never reach a log or an error message.
///
/// A property is secret when its name contains `password`, `secret`, `token`, `credential` or `key`
/// (`sasl.password`, `ssl.key.password`, `ssl.key.pem`, `ssl.keystore.password`,
/// `sasl.oauthbearer.client.secret`), or is `sasl.oauthbearer.config` (which embeds credentials). Names that
/// only point at a file (`*.location`, e.g. `ssl.key.location`) and serializer/partitioner names
/// (`key.serializer`) are harmless and shown.
public enum KafkaSecrets {
    public static let mask = "*****"

    public static func isSecret(_ property: String) -> Bool {
        let name = property.lowercased()
        if name == "sasl.oauthbearer.config" { return true }
        if ["password", "secret", "token", "credential"].contains(where: name.contains) { return true }
        guard name.contains("key") else { return false }
        if name.hasSuffix(".location") { return false }
        if name.hasSuffix("serializer") || name.hasSuffix("deserializer") { return false }
        return true
    }

    /// The value as it may be shown: masked for secrets.
    public static func displayValue(_ value: String, of property: String) -> String {
        isSecret(property) ? mask : value
    }

    /// `name=value` pairs for a log line, secrets masked.
    public static func describe(_ properties: [(String, String)]) -> String {
        properties.map { "\($0.0)=\(displayValue($0.1, of: $0.0))" }.joined(separator: " ")
    }

    /// Removes every occurrence of a secret's value from a text (librdkafka echoes invalid values).
    static func redact(_ text: String, value: String, of property: String) -> String {
        guard isSecret(property), !value.isEmpty else { return text }
        return text.replacing(value, with: mask)
    }
}
