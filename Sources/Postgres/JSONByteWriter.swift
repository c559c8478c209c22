/// Appends JSON tokens as UTF-8 bytes, without Foundation and without intermediate Strings.
enum JSONByteWriter {
    static let quote: UInt8 = 0x22
    static let backslash: UInt8 = 0x5C

    /// Appends `bytes` as a JSON string: quotes around, `"` and `\` escaped, control characters below 0x20
    /// as `\n \r \t \b \f` or `\u00XX`. Everything else (non-ASCII UTF-8 included) passes through unchanged.
    @inline(__always)
    static func appendString(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        out.append(quote)
        appendEscaped(bytes, to: &out)
        out.append(quote)
    }

    /// The escaping of `appendString` without the quotes. Copies unescaped runs in one go; scans eight bytes at a
    /// time while none of them needs escaping (most text has no escapes at all).
    static func appendEscaped(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        guard let base = bytes.baseAddress else { return }
        // char and UInt8 are the signed/unsigned variants of one type, which Swift lets alias.
        let p = base.assumingMemoryBound(to: UInt8.self)
        let n = bytes.count
        var runStart = 0
        var i = 0
        while i < n {
            while i &+ 8 <= n && !needsEscape(UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)) {
                i &+= 8
            }
            if i >= n { break }
            let b = p[i]
            if b >= 0x20 && b != quote && b != backslash {
                i += 1
                continue
            }
            if i > runStart { out.append(contentsOf: UnsafeBufferPointer(start: p + runStart, count: i - runStart)) }
            appendEscape(for: b, to: &out)
            i += 1
            runStart = i
        }
        if n > runStart { out.append(contentsOf: UnsafeBufferPointer(start: p + runStart, count: n - runStart)) }
    }

    /// Whether any of the eight bytes of `word` is below 0x20, a quote or a backslash (exact, no false positives:
    /// the classic "has a byte less than n" and "has a zero byte" word tests).
    @inline(__always)
    static func needsEscape(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let control = (word &- ones &* 0x20) & ~word & highs
        let q = word ^ (ones &* UInt64(quote))
        let b = word ^ (ones &* UInt64(backslash))
        let quotes = (q &- ones) & ~q & highs
        let backslashes = (b &- ones) & ~b & highs
        return (control | quotes | backslashes) != 0
    }

    @inline(never)
    static func appendEscape(for byte: UInt8, to out: inout [UInt8]) {
        out.append(backslash)
        switch byte {
        case quote: out.append(quote)
        case backslash: out.append(backslash)
        case 0x0A: out.append(UInt8(ascii: "n"))
        case 0x0D: out.append(UInt8(ascii: "r"))
        case 0x09: out.append(UInt8(ascii: "t"))
        case 0x08: out.append(UInt8(ascii: "b"))
        case 0x0C: out.append(UInt8(ascii: "f"))
        default:
            let hex: StaticString = "0123456789abcdef"
            out.append(UInt8(ascii: "u"))
            out.append(UInt8(ascii: "0"))
            out.append(UInt8(ascii: "0"))
            hex.withUTF8Buffer { digits in
                out.append(digits[Int(byte >> 4)])
                out.append(digits[Int(byte & 0x0F)])
            }
        }
    }

    /// Appends bytes unchanged.
    @inline(__always)
    static func appendRaw(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        out.append(contentsOf: UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: bytes.count))
    }

    /// Appends JSON text unchanged except that raw line breaks (insignificant whitespace, since JSON strings
    /// cannot contain them unescaped) become spaces, so a record stays on one line of a JSON Lines file.
    static func appendJSONOnOneLine(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        guard let base = bytes.baseAddress else { return }
        let p = base.assumingMemoryBound(to: UInt8.self)
        let n = bytes.count
        var runStart = 0
        for i in 0..<n where p[i] == 0x0A || p[i] == 0x0D {
            if i > runStart { out.append(contentsOf: UnsafeBufferPointer(start: p + runStart, count: i - runStart)) }
            out.append(0x20)
            runStart = i + 1
        }
        if n > runStart { out.append(contentsOf: UnsafeBufferPointer(start: p + runStart, count: n - runStart)) }
    }

    /// Appends an ASCII literal such as `null` or `true`.
    @inline(__always)
    static func appendLiteral(_ literal: StaticString, to out: inout [UInt8]) {
        literal.withUTF8Buffer { out.append(contentsOf: $0) }
    }
}
