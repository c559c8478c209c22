extension PostgresRowEncoder {
    /// Appends one non-NULL value of the given kind.
    @inline(__always)
    static func append(_ kind: Kind, _ value: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        switch kind {
        case .integer:
            JSONByteWriter.appendRaw(value, to: &out)
        case .float, .numeric:
            if isNonFinite(value) {
                JSONByteWriter.appendString(value, to: &out)
            } else {
                JSONByteWriter.appendRaw(value, to: &out)
            }
        case .bool:
            if value.first == UInt8(ascii: "t") {
                JSONByteWriter.appendLiteral("true", to: &out)
            } else {
                JSONByteWriter.appendLiteral("false", to: &out)
            }
        case .timestamp:
            appendTimestamp(value, withOffset: false, to: &out)
        case .timestamptz:
            appendTimestamp(value, withOffset: true, to: &out)
        case .string, .fallback:
            JSONByteWriter.appendString(value, to: &out)
        case .json:
            JSONByteWriter.appendJSONOnOneLine(value, to: &out)
        }
    }

    /// `NaN`, `Infinity`, `-Infinity` (the only float/numeric text forms that are not JSON numbers).
    @inline(__always)
    static func isNonFinite(_ value: UnsafeRawBufferPointer) -> Bool {
        guard let first = value.first else { return true }
        if first == UInt8(ascii: "N") || first == UInt8(ascii: "I") { return true }
        return first == UInt8(ascii: "-") && value.count > 1 && value[1] == UInt8(ascii: "I")
    }

    /// ISO-8601 from PostgreSQL's ISO DateStyle text: `2020-08-28 03:52:47.5+05` → `"2020-08-28T03:52:47.5+05:00"`.
    /// Infinite and BC values (and anything unexpected) are written as their text.
    static func appendTimestamp(_ value: UnsafeRawBufferPointer, withOffset: Bool, to out: inout [UInt8]) {
        let n = value.count
        guard n >= 19, let first = value.first, first &- UInt8(ascii: "0") < 10,
            value[n - 1] != UInt8(ascii: "C"),  // "... BC"
            let space = value.firstIndex(of: UInt8(ascii: " "))
        else {
            JSONByteWriter.appendString(value, to: &out)
            return
        }
        out.append(JSONByteWriter.quote)
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: value[0..<space]))
        out.append(UInt8(ascii: "T"))
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: value[(space + 1)..<n]))
        if withOffset {
            // The offset starts at the last sign after the time's first digit: +HH, +HH:MM or +HH:MM:SS.
            var sign = n - 1
            while sign > space + 1 && value[sign] != UInt8(ascii: "+") && value[sign] != UInt8(ascii: "-") {
                sign -= 1
            }
            if sign > space + 1 && n - sign == 3 {
                out.append(UInt8(ascii: ":"))
                out.append(UInt8(ascii: "0"))
                out.append(UInt8(ascii: "0"))
            }
        }
        out.append(JSONByteWriter.quote)
    }
}
