import Logging
import Support

/// Masks metadata whose key names a secret (`SecretPolicy`), nested dictionaries included: the handlers cannot
/// know what is secret, so they go by the key.
public enum LogSecrets {
    /// The metadata with every secret value masked.
    public static func redact(_ metadata: Logger.Metadata) -> Logger.Metadata {
        var result = metadata
        for (key, value) in metadata {
            result[key] = SecretPolicy.isSecret(key) ? .string(SecretPolicy.mask) : redact(value)
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
