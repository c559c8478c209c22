/// A growable byte buffer that the CSV and JSON Lines encoders append to without going through `String`.
public struct SampleOutputBuffer: Sendable {
    public var bytes: [UInt8]

    public init(capacity: Int = 1 << 16) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public var count: Int { bytes.count }

    public mutating func removeAll() { bytes.removeAll(keepingCapacity: true) }

    @inline(__always)
    mutating func byte(_ b: UInt8) { bytes.append(b) }

    /// Appends ASCII text known to need no escaping (column names, fixed punctuation).
    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func raw(_ text: String) {
        var text = text
        text.withUTF8 { bytes.append(contentsOf: $0) }
    }

    mutating func integer(_ value: Int) {
        if value < 0 {
            bytes.append(UInt8(ascii: "-"))
            unsigned(UInt64(value.magnitude))
        } else {
            unsigned(UInt64(value))
        }
    }

    mutating func unsigned(_ value: UInt64) {
        var count = 1
        var rest = value
        while rest >= 10 {
            rest /= 10
            count += 1
        }
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: count))
        var v = value
        var i = start + count - 1
        while v > 0 {
            bytes[i] = UInt8(48 + v % 10)
            v /= 10
            i -= 1
        }
    }

    private static let powersOfTen: [Double] = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8]

    /// A double in plain decimal notation, shortest form. Fast path for values with at most six decimals
    /// (the generator's coordinates); anything else falls back to Swift's shortest round-trip text.
    mutating func double(_ value: Double) {
        guard value.isFinite else {
            raw(value.description)
            return
        }
        let magnitude = value.magnitude
        for decimals in 0...6 {
            let scale = Self.powersOfTen[decimals]
            let scaled = (magnitude * scale).rounded()
            guard scaled < 9.0e15, scaled / scale == magnitude else { continue }
            let m = UInt64(scaled)
            if value.sign == .minus && m != 0 { bytes.append(UInt8(ascii: "-")) }
            let p = UInt64(scale)
            unsigned(m / p)
            bytes.append(UInt8(ascii: "."))
            if decimals == 0 {
                bytes.append(UInt8(ascii: "0"))
                return
            }
            var fraction = m % p
            var divisor = p / 10
            for _ in 0..<decimals {
                bytes.append(UInt8(48 + fraction / divisor))
                fraction %= divisor
                divisor /= 10
                if divisor == 0 { break }
            }
            return
        }
        raw(value.description)
    }

    /// A CSV field for PostgreSQL's `COPY ... (FORMAT csv)`: quoted when it holds a delimiter, quote, line
    /// break or backslash, or is empty (an unquoted empty field would load as NULL); quotes doubled.
    mutating func csvField(_ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            var needsQuotes = utf8.isEmpty
            var hasQuote = false
            for b in utf8 where b == 0x2C || b == 0x22 || b == 0x0A || b == 0x0D || b == 0x5C {
                needsQuotes = true
                if b == 0x22 {
                    hasQuote = true
                    break
                }
            }
            guard needsQuotes else {
                bytes.append(contentsOf: utf8)
                return
            }
            bytes.append(0x22)
            if hasQuote {
                var start = 0
                for i in 0..<utf8.count where utf8[i] == 0x22 {
                    bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start...i]))
                    bytes.append(0x22)
                    start = i + 1
                }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start...]))
            } else {
                bytes.append(contentsOf: utf8)
            }
            bytes.append(0x22)
        }
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// A JSON string literal: quotes, backslashes and control characters escaped, other UTF-8 kept as is.
    mutating func jsonString(_ text: String) {
        var text = text
        bytes.append(0x22)
        text.withUTF8 { utf8 in
            var start = 0
            for i in 0..<utf8.count {
                let b = utf8[i]
                guard b < 0x20 || b == 0x22 || b == 0x5C else { continue }
                if start < i { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<i])) }
                start = i + 1
                bytes.append(0x5C)
                switch b {
                case 0x22: bytes.append(0x22)
                case 0x5C: bytes.append(0x5C)
                case 0x0A: bytes.append(UInt8(ascii: "n"))
                case 0x0D: bytes.append(UInt8(ascii: "r"))
                case 0x09: bytes.append(UInt8(ascii: "t"))
                case 0x08: bytes.append(UInt8(ascii: "b"))
                case 0x0C: bytes.append(UInt8(ascii: "f"))
                default:
                    bytes.append(contentsOf: [UInt8(ascii: "u"), 0x30, 0x30])
                    bytes.append(Self.hex[Int(b >> 4)])
                    bytes.append(Self.hex[Int(b & 0xF)])
                }
            }
            if start < utf8.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start...])) }
        }
        bytes.append(0x22)
    }

    mutating func timestamp(_ value: LocalTimestamp, separator: UInt8) {
        value.append(to: &bytes, separator: separator)
    }
}
