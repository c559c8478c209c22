/// Turns arbitrary metadata keys into valid journal field names.
///
/// journald accepts only names of `A–Z`, `0–9` and `_`, not starting with `_` (reserved for trusted fields) or
/// a digit, at most 64 characters; it silently drops anything else. So `kafka.topic` becomes `KAFKA_TOPIC`.
public enum JournalFieldName {
    public static let maximumLength = 64

    /// Field names the handler writes itself; metadata keys that map onto them get a `META_` prefix.
    public static let reserved: Set<String> = [
        "MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "CODE_FILE", "CODE_LINE", "CODE_FUNC", "LOGGER",
        "LOGGER_SOURCE", "ERROR", "SYSLOG_FACILITY", "SYSLOG_PID", "MESSAGE_ID",
    ]

    /// The journal field name for `key`: uppercased ASCII letters and digits, every run of other characters
    /// one `_`, no leading or trailing `_`, `F` in front of a leading digit, at most 64 characters. An empty
    /// result becomes `META`, a reserved one `META_<NAME>`.
    public static func sanitize(_ key: String) -> String {
        var name = ""
        name.reserveCapacity(key.utf8.count)
        var pendingUnderscore = false
        for byte in key.utf8 {
            let mapped: UInt8?
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): mapped = byte
            case UInt8(ascii: "a")...UInt8(ascii: "z"): mapped = byte - 32
            default: mapped = nil
            }
            guard let mapped else {
                pendingUnderscore = true
                continue
            }
            if pendingUnderscore, !name.isEmpty { name.append("_") }
            pendingUnderscore = false
            name.append(Character(Unicode.Scalar(mapped)))
        }
        if let first = name.utf8.first, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) {
            name = "F" + name
        }
        if name.isEmpty { return "META" }
        if reserved.contains(name) { name = "META_" + name }
        if name.utf8.count > maximumLength {
            name = String(name.prefix(maximumLength))
            while name.hasSuffix("_") { name.removeLast() }
        }
        return name
    }
}
