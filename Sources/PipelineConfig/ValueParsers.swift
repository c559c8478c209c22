/// Parsers for the human-friendly values of the configuration: durations and byte sizes.
public enum ValueParsers {
    /// `250ms`, `30s`, `5m`, `1h`, `1h30m`, `1.5s`; a bare `0` means zero.
    public static func duration(_ text: String) -> Duration? {
        let trimmed = text.trimmingSpaces()
        if trimmed == "0" { return .zero }
        var total: Double = 0
        var index = trimmed.startIndex
        var sawComponent = false
        while index < trimmed.endIndex {
            var number = ""
            while index < trimmed.endIndex, trimmed[index].isNumber || trimmed[index] == "." {
                number.append(trimmed[index])
                index = trimmed.index(after: index)
            }
            var unit = ""
            while index < trimmed.endIndex, trimmed[index].isLetter || trimmed[index] == "µ" {
                unit.append(trimmed[index])
                index = trimmed.index(after: index)
            }
            guard let value = Double(number), !unit.isEmpty else { return nil }
            let seconds: Double
            switch unit {
            case "ns": seconds = value / 1e9
            case "us", "µs": seconds = value / 1e6
            case "ms": seconds = value / 1e3
            case "s": seconds = value
            case "m", "min": seconds = value * 60
            case "h": seconds = value * 3600
            case "d": seconds = value * 86_400
            default: return nil
            }
            total += seconds
            sawComponent = true
        }
        guard sawComponent, total.isFinite, total >= 0 else { return nil }
        let whole = total.rounded(.down)
        return .seconds(Int64(whole)) + .nanoseconds(Int64(((total - whole) * 1e9).rounded()))
    }

    /// `512`, `64KiB`, `16MiB`, `1GiB`, `10MB` (decimal), `1.5MiB`; bytes as an Int.
    public static func byteSize(_ text: String) -> Int? {
        let trimmed = text.trimmingSpaces()
        var split = trimmed.startIndex
        while split < trimmed.endIndex, trimmed[split].isNumber || trimmed[split] == "." {
            split = trimmed.index(after: split)
        }
        guard let value = Double(trimmed[..<split]), value >= 0 else { return nil }
        let unit = trimmed[split...].trimmingSpaces()
        let factor: Double
        switch unit {
        case "", "B": factor = 1
        case "KiB", "K", "k": factor = 1024
        case "MiB", "M": factor = 1024 * 1024
        case "GiB", "G": factor = 1024 * 1024 * 1024
        case "KB", "kB": factor = 1000
        case "MB": factor = 1_000_000
        case "GB": factor = 1_000_000_000
        default: return nil
        }
        let bytes = (value * factor).rounded()
        guard bytes < Double(Int.max) else { return nil }
        return Int(bytes)
    }

    /// Renders a duration the way the configuration accepts it.
    public static func format(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let millis = attoseconds / 1_000_000_000_000_000
        if millis == 0 {
            if seconds % 3600 == 0 && seconds > 0 { return "\(seconds / 3600)h" }
            if seconds % 60 == 0 && seconds > 0 { return "\(seconds / 60)m" }
            return "\(seconds)s"
        }
        return "\(seconds * 1000 + millis)ms"
    }

    /// Renders a byte size the way the configuration accepts it.
    public static func formatSize(_ bytes: Int) -> String {
        for (unit, factor) in [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] where bytes >= factor && bytes % factor == 0 {
            return "\(bytes / factor)\(unit)"
        }
        return "\(bytes)"
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        var slice = self[...]
        while slice.first == " " { slice = slice.dropFirst() }
        while slice.last == " " { slice = slice.dropLast() }
        return String(slice)
    }
}
