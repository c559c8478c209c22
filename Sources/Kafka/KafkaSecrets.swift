import Support

/// Shows librdkafka properties without their secrets (which ones are secret is `SecretPolicy`'s call).
public enum KafkaSecrets {
    public static let mask = SecretPolicy.mask

    /// The value as it may be shown: masked for secrets.
    public static func displayValue(_ value: String, of property: String) -> String {
        SecretPolicy.display(value, of: property)
    }

    /// `name=value` pairs for a log line, secrets masked.
    public static func describe(_ properties: [(String, String)]) -> String {
        properties.map { "\($0.0)=\(displayValue($0.1, of: $0.0))" }.joined(separator: " ")
    }

    /// Removes every occurrence of a secret's value from a text (librdkafka echoes invalid values).
    static func redact(_ text: String, value: String, of property: String) -> String {
        guard SecretPolicy.isSecret(property), !value.isEmpty else { return text }
        return text.replacing(value, with: mask)
    }
}
