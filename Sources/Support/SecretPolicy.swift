/// The one rule for what is secret, by name: a configuration key, a librdkafka property or a log metadata key.
///
/// A name is secret when, folded to lower-case letters and digits, it contains `password`, `passwd`, `secret`,
/// `token`, `credential`, `apikey`, `authorization`, `privatekey` or `jaas`; when it is
/// `sasl.oauthbearer.config` (it embeds credentials); or when it names TLS key material (`ssl.key…`, `ssl_key…`,
/// `….key.pem`). Names of files (`….location`, e.g. `ssl.key.location`, and `…_file` / `….file`, e.g.
/// `password_file`, `credentials_file`) are paths, not secrets, and are shown; so are record keys and object keys
/// (`key.serializer`, `s3.key`).
///
/// - Important: Every place that shows configuration or log metadata (logs, errors, `check-config`) asks this
///   type, so they cannot disagree about a name.
public enum SecretPolicy {
    /// What a secret value is replaced with.
    public static let mask = "***"

    private static let markers = [
        "password", "passwd", "secret", "token", "credential", "apikey", "authorization", "privatekey", "jaas",
    ]

    /// Whether a value under `name` must never be shown.
    public static func isSecret(_ name: String) -> Bool {
        let lower = name.lowercased()
        let pathSuffixes = [".location", "_location", "_file", ".file"]
        if pathSuffixes.contains(where: lower.hasSuffix) { return false }
        let folded = String(lower.filter { $0.isLetter || $0.isNumber })
        if markers.contains(where: folded.contains) { return true }
        if lower == "sasl.oauthbearer.config" { return true }
        let dotted = String(lower.map { $0 == "_" ? "." : $0 })
        return dotted.hasPrefix("ssl.key") || dotted.hasSuffix(".key.pem")
    }

    /// `value` as it may be shown under `name`.
    public static func display(_ value: String, of name: String) -> String {
        isSecret(name) ? mask : value
    }
}
