import Support

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
        let (year, month, day) = CivilDate.fromDays(Int(days))
        func two(_ value: some BinaryInteger) -> String { value < 10 ? "0\(value)" : "\(value)" }
        var result = pattern
        result = result.replacing("YYYY", with: String(year))
        result = result.replacing("MM", with: two(month))
        result = result.replacing("dd", with: two(day))
        result = result.replacing("HH", with: two(secondOfDay / 3600))
        result = result.replacing("mm", with: two(secondOfDay % 3600 / 60))
        return result
    }
}
