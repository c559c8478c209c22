import Foundation

/// Random values for the property test, each with the parameter text to insert and the expected JSON value.
extension PostgresEncoderPropertyTests {
    static func generateRow(_ g: inout SplitMix64, offsetSeconds: Int) -> [Generated] {
        [
            nullable(&g) { g in let r = Int64(Int16.random(in: .min ... .max, using: &g)); let v = pick(&g, [Int64(Int16.min), Int64(Int16.max), 0, -1], or: r); return Generated(parameter: String(v), expected: .integer(v)) },
            nullable(&g) { g in let r = Int64(Int32.random(in: .min ... .max, using: &g)); let v = pick(&g, [Int64(Int32.min), Int64(Int32.max), 0], or: r); return Generated(parameter: String(v), expected: .integer(v)) },
            nullable(&g) { g in let r = Int64.random(in: .min ... .max, using: &g); let v = pick(&g, [Int64.min, Int64.max, 0, 1], or: r); return Generated(parameter: String(v), expected: .integer(v)) },
            nullable(&g) { g in let f = float4(&g); return Generated(parameter: floatText(Double(f), description: "\(f)"), expected: .float4(f)) },
            nullable(&g) { g in let d = float8(&g); return Generated(parameter: floatText(d, description: "\(d)"), expected: .float8(d)) },
            nullable(&g) { g in let n = numeric(&g); return Generated(parameter: n, expected: .numeric(n)) },
            nullable(&g) { g in let b = Bool.random(using: &g); return Generated(parameter: b ? "true" : "false", expected: .bool(b)) },
            nullable(&g) { g in let s = text(&g); return Generated(parameter: s, expected: .string(s)) },
            nullable(&g) { g in timestamp(&g) },
            nullable(&g) { g in timestamptz(&g, offsetSeconds: offsetSeconds) },
            nullable(&g) { g in let days = Int64.random(in: -25_000...60_000, using: &g); let (y, m, d) = civil(fromDays: days); let s = String(format: "%04lld-%02d-%02d", y, m, d); return Generated(parameter: s, expected: .string(s)) },
            nullable(&g) { g in let (p, e) = timeOfDay(&g); return Generated(parameter: p, expected: .string(e)) },
            nullable(&g) { g in let (text, value) = json(&g); return Generated(parameter: text, expected: .json(value)) },
            nullable(&g) { g in let (text, value) = json(&g); return Generated(parameter: text, expected: .json(value)) },
            nullable(&g) { g in let u = uuid(&g); return Generated(parameter: u.uppercased(), expected: .string(u)) },
            nullable(&g) { g in let hex = "\\x" + (0..<Int.random(in: 0...16, using: &g)).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &g)) }.joined(); return Generated(parameter: hex, expected: .string(hex)) },
            nullable(&g) { g in let s = interval(&g); return Generated(parameter: s, expected: .string(s)) },
            nullable(&g) { g in let s = "{" + (0..<Int.random(in: 0...4, using: &g)).map { _ in String(Int32.random(in: -1000...1000, using: &g)) }.joined(separator: ",") + "}"; return Generated(parameter: s, expected: .string(s)) },
        ]
    }

    static func nullable(_ g: inout SplitMix64, _ make: (inout SplitMix64) -> Generated) -> Generated {
        if g.next() % 10 == 0 { return Generated(parameter: nil, expected: .null) }
        return make(&g)
    }

    /// One of the edge cases a quarter of the time, else the random value.
    static func pick<T>(_ g: inout SplitMix64, _ edges: [T], or random: T) -> T {
        g.next() % 4 == 0 ? edges[Int(g.next() % UInt64(edges.count))] : random
    }

    static func floatText(_ d: Double, description: String) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
        return description
    }

    static func float8(_ g: inout SplitMix64) -> Double {
        let edges: [Double] = [0, -0.0, .nan, .infinity, -.infinity, .leastNonzeroMagnitude, -.greatestFiniteMagnitude, 1e-300, 1e300, 0.1, -89.9787, 123456789.123456789]
        if g.next() % 3 == 0 { return edges[Int(g.next() % UInt64(edges.count))] }
        while true {
            let d = g.next() % 2 == 0 ? Double(bitPattern: g.next()) : Double.random(in: -1000...1000, using: &g)
            if d.isFinite { return d }
        }
    }

    static func float4(_ g: inout SplitMix64) -> Float {
        let edges: [Float] = [0, -0.0, .nan, .infinity, -.infinity, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 1e-30, 0.1, -173.293]
        if g.next() % 3 == 0 { return edges[Int(g.next() % UInt64(edges.count))] }
        while true {
            let f = g.next() % 2 == 0 ? Float(bitPattern: UInt32(truncatingIfNeeded: g.next())) : Float.random(in: -1000...1000, using: &g)
            if f.isFinite { return f }
        }
    }

    /// Canonical numeric text (as PostgreSQL prints it back): no leading zeros, the fraction's zeros kept.
    static func numeric(_ g: inout SplitMix64) -> String {
        switch g.next() % 12 {
        case 0: return ["NaN", "Infinity", "-Infinity"][Int(g.next() % 3)]
        default:
            let integerDigits = Int(g.next() % 40) + 1
            var integer = String(Int(g.next() % 9) + 1)
            for _ in 1..<integerDigits { integer.append(String(g.next() % 10)) }
            if g.next() % 4 == 0 { integer = "0" }
            let fractionDigits = Int(g.next() % 26)
            let fraction = String((0..<fractionDigits).map { _ in Character(String(g.next() % 10)) })
            var text = fractionDigits > 0 ? integer + "." + fraction : integer
            let isZero = text.allSatisfy { $0 == "0" || $0 == "." }
            if !isZero && g.next() % 2 == 0 { text = "-" + text }
            return text
        }
    }

    static let textFragments = [
        "", "plain", "\"quoted\"", "back\\slash", "\\\"", "tab\there", "new\nline", "\r\n", "🚀", "东京", "Zürich",
        "\u{7F}", "\u{2028}", "{\"json\":1}", "'single'", "a/b", "  spaces  ", "\u{1}\u{1F}\u{8}\u{C}\u{B}", "😀👍🏽",
    ]

    static func text(_ g: inout SplitMix64) -> String {
        var s = ""
        for _ in 0..<Int(g.next() % 7) {
            if g.next() % 5 == 0 {
                s.append(Character(Unicode.Scalar(UInt8(g.next() % 31 + 1))))
            } else {
                s += textFragments[Int(g.next() % UInt64(textFragments.count))]
            }
        }
        return s
    }

    /// Seconds since 1970 in [1950, 2100), and microseconds (zero half the time).
    static func instant(_ g: inout SplitMix64) -> (seconds: Int64, micros: Int) {
        let seconds = Int64.random(in: -631_152_000..<4_102_444_800, using: &g)
        let micros = g.next() % 2 == 0 ? 0 : Int(g.next() % 1_000_000)
        return (seconds, micros)
    }

    static func timestamp(_ g: inout SplitMix64) -> Generated {
        switch g.next() % 40 {
        case 0: return Generated(parameter: "infinity", expected: .string("infinity"))
        case 1: return Generated(parameter: "-infinity", expected: .string("-infinity"))
        case 2: return Generated(parameter: "0044-03-15 12:00:00 BC", expected: .string("0044-03-15 12:00:00 BC"))
        default:
            let (seconds, micros) = instant(&g)
            return Generated(
                parameter: civilText(seconds, separator: " ") + String(format: ".%06d", micros),
                expected: .string(civilText(seconds, separator: "T") + fractionText(micros)))
        }
    }

    static func timestamptz(_ g: inout SplitMix64, offsetSeconds: Int) -> Generated {
        if g.next() % 40 == 0 { return Generated(parameter: "infinity", expected: .string("infinity")) }
        let (seconds, micros) = instant(&g)
        let sign = offsetSeconds < 0 ? "-" : "+"
        let offset = abs(offsetSeconds)
        let offsetText = sign + String(format: "%02d:%02d", offset / 3600, offset % 3600 / 60)
        return Generated(
            parameter: civilText(seconds, separator: " ") + String(format: ".%06d", micros) + "+00",
            expected: .string(civilText(seconds + Int64(offsetSeconds), separator: "T") + fractionText(micros) + offsetText))
    }

    static func timeOfDay(_ g: inout SplitMix64) -> (String, String) {
        let seconds = Int(g.next() % 86_400)
        let micros = g.next() % 2 == 0 ? 0 : Int(g.next() % 1_000_000)
        let hms = String(format: "%02d:%02d:%02d", seconds / 3600, seconds % 3600 / 60, seconds % 60)
        return (hms + String(format: ".%06d", micros), hms + fractionText(micros))
    }

    /// PostgreSQL prints fractional seconds without trailing zeros, and none when zero.
    static func fractionText(_ micros: Int) -> String {
        guard micros > 0 else { return "" }
        var digits = String(format: "%06d", micros)
        while digits.hasSuffix("0") { digits.removeLast() }
        return "." + digits
    }

    static func civilText(_ seconds: Int64, separator: String) -> String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = Int(seconds - days * 86_400)
        let (y, m, d) = civil(fromDays: days)
        return String(format: "%04lld-%02d-%02d", y, m, d) + separator
            + String(format: "%02d:%02d:%02d", secondOfDay / 3600, secondOfDay % 3600 / 60, secondOfDay % 60)
    }

    /// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's civil_from_days).
    static func civil(fromDays z0: Int64) -> (year: Int64, month: Int, day: Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = Int(doy - (153 * mp + 2) / 5 + 1)
        let month = Int(mp < 10 ? mp + 3 : mp - 9)
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }

    static func uuid(_ g: inout SplitMix64) -> String {
        let hex = (0..<16).map { _ in String(format: "%02x", UInt8(truncatingIfNeeded: g.next())) }.joined()
        let c = Array(hex)
        return [c[0..<8], c[8..<12], c[12..<16], c[16..<20], c[20..<32]].map { String($0) }.joined(separator: "-")
    }

    static func interval(_ g: inout SplitMix64) -> String {
        let days = Int(g.next() % 500)
        let seconds = Int(g.next() % 86_400)
        let time = String(format: "%02d:%02d:%02d", seconds / 3600, seconds % 3600 / 60, seconds % 60)
        switch days {
        case 0: return time
        case 1: return "1 day \(time)"
        default: return "\(days) days \(time)"
        }
    }

    /// A random JSON document, pretty-printed (so json values contain line breaks), and its value.
    static func json(_ g: inout SplitMix64) -> (String, Any) {
        func value(_ depth: Int) -> Any {
            switch g.next() % (depth > 2 ? 4 : 6) {
            case 0: return text(&g)
            case 1: return Int(Int32.random(in: -100_000...100_000, using: &g))
            case 2: return Double(Int.random(in: -1000...1000, using: &g)) + 0.25
            case 3: return g.next() % 3 == 0 ? NSNull() : (g.next() % 2 == 0)
            case 4: return (0..<Int(g.next() % 4)).map { _ in value(depth + 1) }
            default:
                var object: [String: Any] = [:]
                for _ in 0..<Int(g.next() % 4) { object[text(&g)] = value(depth + 1) }
                return object
            }
        }
        var top: [String: Any] = [:]
        for index in 0..<Int(g.next() % 4 + 1) { top["k\(index)" + text(&g)] = value(1) }
        let data = try! JSONSerialization.data(withJSONObject: top, options: [.prettyPrinted, .sortedKeys])
        return (String(decoding: data, as: UTF8.self), top)
    }
}
