import CLibPQ

/// Facts about the linked libpq.
public enum PostgresLibrary {
    /// libpq's version as "major.minor", e.g. "15.18" (from `PQlibVersion`).
    public static var version: String {
        let number = Int(PQlibVersion())
        return versionString(number)
    }

    /// Formats a libpq/server version number (150018 → "15.18"; pre-10 style 90624 → "9.6.24").
    public static func versionString(_ number: Int) -> String {
        if number >= 100_000 { return "\(number / 10_000).\(number % 10_000)" }
        return "\(number / 10_000).\(number / 100 % 100).\(number % 100)"
    }

    /// Whether this libpq is thread-safe (`PQisthreadsafe`); pinpipe needs it.
    public static var isThreadSafe: Bool { PQisthreadsafe() != 0 }
}
