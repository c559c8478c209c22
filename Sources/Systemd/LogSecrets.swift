import Logging

/// Masks metadata whose key looks like a secret.
///
/// The handlers cannot know what is secret, so they go by the key: any key containing `password`, `passwd`,
/// `secret`, `token`, `apikey`/`api_key`, `authorization` or `private_key` (any case, any separator) has its
/// value replaced by `***`, nested dictionaries included.
public enum LogSecrets {
    public static let mask = "***"
    private static let markers = ["password", "passwd", "secret", "token", "apikey", "authorization", "privatekey"]

    /// Whether a metadata key names a secret.
    public static func isSecret(key: String) -> Bool {
        let folded = String(key.lowercased().filter { $0.isLetter || $0.isNumber })
        return markers.contains { folded.contains($0) }
    }

    /// The metadata with every secret value masked.
    public static func redact(_ metadata: Logger.Metadata) -> Logger.Metadata {
        var result = metadata
        for (key, value) in metadata {
            result[key] = isSecret(key: key) ? .string(mask) : redact(value)
        }
        return result
    }

    private static func redact(_ value: Logger.MetadataValue) -> Logger.MetadataValue {
        switch value {
        case .dictionary(let nested): return .dictionary(redact(nested))
        case .array(let items): return .array(items.map(redact))
        case .string, .stringConvertible: return value
        }
    }
}
