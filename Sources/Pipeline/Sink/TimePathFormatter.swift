/// Formats the time-based path segment (extension, off by default) from a record timestamp in UTC.
///
/// Tokens: `YYYY` year, `MM` month, `dd` day, `HH` hour, `mm` minute; everything else is copied.
/// Example: `year=YYYY/month=MM/day=dd/hour=HH` → `year=2020/month=08/day=28/hour=03`.
struct TimePathFormatter: Sendable {
    let pattern: String

    init?(pattern: String) {
        guard pattern.contains("YYYY") || pattern.contains("MM") || pattern.contains("dd") || pattern.contains("HH")
        else { return nil }
        self.pattern = pattern
    }

    func format(millisecondsSinceEpoch ms: Int64) -> String {
        let seconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = Self.civil(fromDays: days)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        var result = pattern
        result = result.replacing("YYYY", with: String(year))
        result = result.replacing("MM", with: two(month))
        result = result.replacing("dd", with: two(day))
        result = result.replacing("HH", with: two(secondOfDay / 3600))
        result = result.replacing("mm", with: two(secondOfDay % 3600 / 60))
        return result
    }

    /// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's civil_from_days).
    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}
