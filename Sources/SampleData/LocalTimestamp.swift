import Support

/// A `timestamp without time zone` value, to the second.
///
/// Prints as PostgreSQL does (`2020-08-28 03:52:47`); ``isoText`` is the pipeline's JSON form
/// (`2020-08-28T03:52:47`).
public struct LocalTimestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Seconds since 1970-01-01 00:00:00 (proleptic Gregorian calendar, no time zone).
    public var secondsSinceEpoch: Int64

    public init(secondsSinceEpoch: Int64) {
        self.secondsSinceEpoch = secondsSinceEpoch
    }

    public init(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0) {
        let days = CivilDate.days(year: year, month: month, day: day)
        secondsSinceEpoch = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    }

    public struct Components: Sendable, Hashable {
        public var year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int
    }

    public var components: Components {
        let days = Int(secondsSinceEpoch.floorDivided(by: 86_400))
        let rest = Int(secondsSinceEpoch - Int64(days) * 86_400)
        let (y, m, d) = CivilDate.fromDays(days)
        return Components(year: y, month: m, day: d, hour: rest / 3600, minute: rest / 60 % 60, second: rest % 60)
    }

    public var year: Int { components.year }

    public var description: String { String(decoding: bytes(separator: UInt8(ascii: " ")), as: UTF8.self) }

    /// ISO-8601 without offset, as the pipeline writes timestamps into JSON.
    public var isoText: String { String(decoding: bytes(separator: UInt8(ascii: "T")), as: UTF8.self) }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.secondsSinceEpoch < rhs.secondsSinceEpoch }

    /// `YYYY-MM-DD<separator>hh:mm:ss` as ASCII bytes (years 0...9999).
    func bytes(separator: UInt8) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(19)
        append(to: &out, separator: separator)
        return out
    }

    func append(to out: inout [UInt8], separator: UInt8) {
        let c = components
        func two(_ v: Int) {
            out.append(UInt8(48 + v / 10))
            out.append(UInt8(48 + v % 10))
        }
        let y = max(0, min(9999, c.year))
        two(y / 100)
        two(y % 100)
        out.append(UInt8(ascii: "-"))
        two(c.month)
        out.append(UInt8(ascii: "-"))
        two(c.day)
        out.append(separator)
        two(c.hour)
        out.append(UInt8(ascii: ":"))
        two(c.minute)
        out.append(UInt8(ascii: ":"))
        two(c.second)
    }
}

extension Int64 {
    fileprivate func floorDivided(by divisor: Int64) -> Int64 {
        let q = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? q - 1 : q
    }
}
