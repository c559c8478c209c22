import Support

/// Shows configuration values without their secrets (which ones are secret is `SecretPolicy`'s call).
public enum SecretMasking {
    public static let mask = SecretPolicy.mask

    /// A copy of `properties` with secret values replaced by the mask.
    public static func masked(_ properties: [String: String]) -> [String: String] {
        properties.reduce(into: [:]) { result, entry in
            result[entry.key] = SecretPolicy.display(entry.value, of: entry.key)
        }
    }
}
