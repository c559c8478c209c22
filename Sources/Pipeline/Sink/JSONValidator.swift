/// A strict, allocation-free check that a record value is one JSON value (RFC 8259), for the dead-letter rule.
enum JSONValidator {
    /// nil when valid, else the reason (with the byte position) for the dead-letter record.
    static func problem(in bytes: [UInt8]) -> String? {
        bytes.withUnsafeBytes { problem(in: $0) }
    }

    /// nil when valid, else the reason (with the byte position) for the dead-letter record.
    static func problem(in raw: UnsafeRawBufferPointer) -> String? {
        raw.withMemoryRebound(to: UInt8.self) { buffer in
            var scanner = Scanner(bytes: buffer)
            scanner.skipSpace()
            if scanner.atEnd { return "empty value" }
            if scanner.current != UInt8(ascii: "{") { return "not a JSON object (records are one object per line)" }
            if let problem = scanner.value(depth: 0) { return problem }
            scanner.skipSpace()
            return scanner.atEnd ? nil : "unexpected data after the JSON value at byte \(scanner.index)"
        }
    }

    private struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        var atEnd: Bool { index >= bytes.count }
        var current: UInt8 { bytes[index] }

        mutating func skipSpace() {
            while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 {
                index += 1
            }
        }

        func fail(_ what: String) -> String { "\(what) at byte \(index)" }

        mutating func value(depth: Int) -> String? {
            guard depth < 512 else { return fail("nesting too deep") }
            guard !atEnd else { return fail("unexpected end") }
            switch current {
            case UInt8(ascii: "{"): return object(depth: depth)
            case UInt8(ascii: "["): return array(depth: depth)
            case UInt8(ascii: "\""): return string()
            case UInt8(ascii: "t"): return literal("true")
            case UInt8(ascii: "f"): return literal("false")
            case UInt8(ascii: "n"): return literal("null")
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return number()
            default: return fail("unexpected character")
            }
        }

        mutating func literal(_ word: StaticString) -> String? {
            let count = word.utf8CodeUnitCount
            guard index + count <= bytes.count else { return fail("truncated literal") }
            for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] {
                return fail("invalid literal")
            }
            index += count
            return nil
        }

        mutating func digits() -> Int {
            let start = index
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
            return index - start
        }

        mutating func number() -> String? {
            if current == UInt8(ascii: "-") { index += 1 }
            guard !atEnd else { return fail("truncated number") }
            if current == UInt8(ascii: "0") {
                index += 1
            } else if digits() == 0 {
                return fail("invalid number")
            }
            if !atEnd, current == UInt8(ascii: ".") {
                index += 1
                if digits() == 0 { return fail("invalid fraction") }
            }
            if !atEnd, current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                index += 1
                if !atEnd, current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
                if digits() == 0 { return fail("invalid exponent") }
            }
            return nil
        }

        mutating func string() -> String? {
            index += 1
            while true {
                // Eight bytes at a time over the plain part of the string: ASCII without quote, backslash or
                // control characters, which is most of every record. A word with a special byte moves straight
                // to the first one (the lowest flag is exact; only flags above it can be false).
                if let base = bytes.baseAddress {
                    while index + 8 <= bytes.count {
                        let word = UInt64(littleEndian: UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self))
                        let flags = Self.attentionFlags(word)
                        if flags != 0 {
                            index += flags.trailingZeroBitCount >> 3
                            break
                        }
                        index += 8
                    }
                }
                guard index < bytes.count else { break }
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") { index += 1; return nil }
                if byte < 0x20 { return fail("control character in string") }
                if byte == UInt8(ascii: "\\") {
                    index += 1
                    guard !atEnd else { break }
                    switch bytes[index] {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                        UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                        index += 1
                    case UInt8(ascii: "u"):
                        guard index + 4 < bytes.count else { return fail("truncated \\u escape") }
                        for offset in 1...4 where !bytes[index + offset].isHexDigit {
                            return fail("invalid \\u escape")
                        }
                        index += 5
                    default:
                        return fail("invalid escape")
                    }
                    continue
                }
                if byte < 0x80 { index += 1; continue }
                if let problem = utf8Sequence() { return problem }
            }
            return fail("unterminated string")
        }

        /// The high bit of each byte of `word` (first byte lowest) that is a quote, a backslash, a control
        /// character or not ASCII (SWAR). The lowest flag set marks a byte that is one; a borrow can flag a
        /// byte above it that is not, so only the first flag counts.
        @inline(__always)
        static func attentionFlags(_ word: UInt64) -> UInt64 {
            let ones: UInt64 = 0x0101_0101_0101_0101
            let highs: UInt64 = 0x8080_8080_8080_8080
            func hasZeroByte(_ value: UInt64) -> UInt64 { (value &- ones) & ~value & highs }
            let quote = hasZeroByte(word ^ (ones &* 0x22))
            let backslash = hasZeroByte(word ^ (ones &* 0x5C))
            let control = (word &- ones &* 0x20) & ~word & highs
            return quote | backslash | control | (word & highs)
        }

        mutating func utf8Sequence() -> String? {
            let lead = bytes[index]
            let length: Int
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0...0xEF: length = 3
            case 0xF0...0xF4: length = 4
            default: return fail("invalid UTF-8")
            }
            guard index + length <= bytes.count else { return fail("truncated UTF-8") }
            for offset in 1..<length where bytes[index + offset] & 0xC0 != 0x80 {
                return fail("invalid UTF-8")
            }
            // The second byte's range decides what the first byte alone cannot (RFC 3629, table 3-7 of Unicode):
            // E0 A0..BF (no overlong 3-byte form), ED 80..9F (no UTF-16 surrogate), F0 90..BF (no overlong 4-byte
            // form), F4 80..8F (nothing above U+10FFFF).
            let second = bytes[index + 1]
            switch lead {
            case 0xE0 where second < 0xA0: return fail("invalid UTF-8 (overlong encoding)")
            case 0xED where second > 0x9F: return fail("invalid UTF-8 (a UTF-16 surrogate)")
            case 0xF0 where second < 0x90: return fail("invalid UTF-8 (overlong encoding)")
            case 0xF4 where second > 0x8F: return fail("invalid UTF-8 (above U+10FFFF)")
            default: break
            }
            index += length
            return nil
        }

        mutating func object(depth: Int) -> String? {
            index += 1
            skipSpace()
            if !atEnd, current == UInt8(ascii: "}") { index += 1; return nil }
            while true {
                skipSpace()
                guard !atEnd, current == UInt8(ascii: "\"") else { return fail("expected a key") }
                if let problem = string() { return problem }
                skipSpace()
                guard !atEnd, current == UInt8(ascii: ":") else { return fail("expected ':'") }
                index += 1
                skipSpace()
                if let problem = value(depth: depth + 1) { return problem }
                skipSpace()
                guard !atEnd else { return fail("unterminated object") }
                if current == UInt8(ascii: ",") { index += 1; continue }
                if current == UInt8(ascii: "}") { index += 1; return nil }
                return fail("expected ',' or '}'")
            }
        }

        mutating func array(depth: Int) -> String? {
            index += 1
            skipSpace()
            if !atEnd, current == UInt8(ascii: "]") { index += 1; return nil }
            while true {
                skipSpace()
                if let problem = value(depth: depth + 1) { return problem }
                skipSpace()
                guard !atEnd else { return fail("unterminated array") }
                if current == UInt8(ascii: ",") { index += 1; continue }
                if current == UInt8(ascii: "]") { index += 1; return nil }
                return fail("expected ',' or ']'")
            }
        }
    }
}

extension UInt8 {
    fileprivate var isHexDigit: Bool {
        (0x30...0x39).contains(self) || (0x41...0x46).contains(self) || (0x61...0x66).contains(self)
    }
}
