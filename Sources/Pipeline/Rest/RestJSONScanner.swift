/// A strict RFC 8259 reader over a request body, for ``RestProduceRequest``: it walks objects and arrays with
/// callbacks, validates values it skips, and hands out the byte span of an embedded value (no tree is built).
struct RestJSONScanner {
    let bytes: [UInt8]
    private(set) var index = 0
    private static let maxDepth = 256

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    var atEnd: Bool { index >= bytes.count }
    var current: UInt8 { index < bytes.count ? bytes[index] : 0 }

    func syntaxError(_ what: String) -> RestError {
        RestError(RestError.badRequest, "Invalid JSON: \(what) at byte \(index).")
    }

    mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    func peekLiteral(_ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { return false }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { return false }
        return true
    }

    /// "an object", "a number", ... for messages about the value at the current position.
    var kindOfValue: String {
        switch current {
        case UInt8(ascii: "{"): return "an object"
        case UInt8(ascii: "["): return "an array"
        case UInt8(ascii: "\""): return "a string"
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return "a boolean"
        case UInt8(ascii: "n"): return "null"
        default: return "a number"
        }
    }

    /// Walks an object: `member` is called positioned at each member's value and must consume it.
    mutating func object(depth: Int = 0, _ member: (inout RestJSONScanner, String) throws(RestError) -> Void)
        throws(RestError)
    {
        guard depth < Self.maxDepth else { throw syntaxError("nesting too deep") }
        guard current == UInt8(ascii: "{") else { throw syntaxError("expected an object") }
        index += 1
        skipSpace()
        if current == UInt8(ascii: "}") {
            index += 1
            return
        }
        while true {
            skipSpace()
            guard current == UInt8(ascii: "\"") else { throw syntaxError("expected a member name") }
            let name = try string()
            skipSpace()
            guard current == UInt8(ascii: ":") else { throw syntaxError("expected ':'") }
            index += 1
            skipSpace()
            guard !atEnd else { throw syntaxError("unexpected end") }
            try member(&self, name)
            skipSpace()
            switch current {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"):
                index += 1
                return
            default: throw syntaxError(atEnd ? "unexpected end" : "expected ',' or '}'")
            }
        }
    }

    /// Walks an array: `element` is called positioned at each element and must consume it.
    mutating func array(depth: Int = 0, _ element: (inout RestJSONScanner, Int) throws(RestError) -> Void)
        throws(RestError)
    {
        guard depth < Self.maxDepth else { throw syntaxError("nesting too deep") }
        guard current == UInt8(ascii: "[") else { throw syntaxError("expected an array") }
        index += 1
        skipSpace()
        if current == UInt8(ascii: "]") {
            index += 1
            return
        }
        var count = 0
        while true {
            skipSpace()
            guard !atEnd else { throw syntaxError("unexpected end") }
            try element(&self, count)
            count += 1
            skipSpace()
            switch current {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"):
                index += 1
                return
            default: throw syntaxError(atEnd ? "unexpected end" : "expected ',' or ']'")
            }
        }
    }

    /// Checks one value and moves past it; returns its span.
    @discardableResult
    mutating func validateValue(depth: Int = 0) throws(RestError) -> Range<Int> {
        skipSpace()
        let start = index
        guard !atEnd else { throw syntaxError("unexpected end") }
        switch current {
        case UInt8(ascii: "{"):
            try object(depth: depth) { (scanner: inout RestJSONScanner, _: String) throws(RestError) in
                _ = try scanner.validateValue(depth: depth + 1)
            }
        case UInt8(ascii: "["):
            try array(depth: depth) { (scanner: inout RestJSONScanner, _: Int) throws(RestError) in
                _ = try scanner.validateValue(depth: depth + 1)
            }
        case UInt8(ascii: "\""): _ = try string()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number()
        default: throw syntaxError("unexpected character '\(Self.printable(current))'")
        }
        return start..<index
    }

    /// The value in `span` without insignificant whitespace (strings copied byte for byte).
    func compacted(_ span: Range<Int>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(span.count)
        var inString = false
        var escaped = false
        for i in span {
            let byte = bytes[i]
            if inString {
                out.append(byte)
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case 0x20, 0x0A, 0x0D, 0x09: continue
            case UInt8(ascii: "\""): inString = true
            default: break
            }
            out.append(byte)
        }
        return out
    }

    private mutating func literal(_ word: StaticString) throws(RestError) {
        guard peekLiteral(word) else { throw syntaxError("invalid literal") }
        index += word.utf8CodeUnitCount
    }

    private mutating func digits() -> Int {
        let start = index
        while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
        return index - start
    }

    private mutating func number() throws(RestError) {
        if current == UInt8(ascii: "-") { index += 1 }
        if current == UInt8(ascii: "0") {
            index += 1
        } else if digits() == 0 {
            throw syntaxError("invalid number")
        }
        if current == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { throw syntaxError("invalid fraction") }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            index += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { throw syntaxError("invalid exponent") }
        }
    }

    /// Reads a string (positioned at its quote) and returns it decoded; checks escapes and UTF-8.
    mutating func string() throws(RestError) -> String {
        index += 1
        let start = index
        var plain = true
        while true {
            guard index < bytes.count else { throw syntaxError("unterminated string") }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") { break }
            if byte < 0x20 { throw syntaxError("control character in a string") }
            if byte == UInt8(ascii: "\\") {
                plain = false
                index += 1
                guard index < bytes.count else { throw syntaxError("unterminated string") }
                switch bytes[index] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                     UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    index += 1
                case UInt8(ascii: "u"):
                    guard index + 4 < bytes.count,
                          bytes[(index + 1)...(index + 4)].allSatisfy({ Self.hexValue($0) != nil })
                    else { throw syntaxError("invalid \\u escape") }
                    index += 5
                default: throw syntaxError("invalid escape")
                }
                continue
            }
            index += 1
        }
        let raw = bytes[start..<index]
        index += 1
        if plain {
            guard let text = String(validating: raw, as: UTF8.self) else { throw syntaxError("invalid UTF-8") }
            return text
        }
        guard let text = Self.unescape(raw) else { throw syntaxError("invalid string") }
        return text
    }

    private static func unescape(_ raw: ArraySlice<UInt8>) -> String? {
        var out: [UInt8] = []
        var units: [UInt16] = []
        var i = raw.startIndex
        func flushUnits() -> Bool {
            guard !units.isEmpty else { return true }
            var decoded = ""
            var iterator = units.makeIterator()
            var utf16 = UTF16()
            loop: while true {
                switch utf16.decode(&iterator) {
                case .scalarValue(let scalar): decoded.unicodeScalars.append(scalar)
                case .emptyInput: break loop
                case .error: return false
                }
            }
            out.append(contentsOf: Array(decoded.utf8))
            units.removeAll()
            return true
        }
        while i < raw.endIndex {
            let byte = raw[i]
            if byte == UInt8(ascii: "\\") {
                let next = raw[i + 1]
                if next == UInt8(ascii: "u") {
                    var value: UInt16 = 0
                    for k in 2...5 { value = value << 4 | UInt16(hexValue(raw[i + k])!) }
                    units.append(value)
                    i += 6
                    continue
                }
                guard flushUnits() else { return nil }
                switch next {
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                default: out.append(next)
                }
                i += 2
                continue
            }
            guard flushUnits() else { return nil }
            out.append(byte)
            i += 1
        }
        guard flushUnits() else { return nil }
        return String(validating: out, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - 48
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - 87
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - 55
        default: return nil
        }
    }

    private static func printable(_ byte: UInt8) -> String {
        (0x21...0x7E).contains(byte) ? String(UnicodeScalar(byte)) : "0x" + String(byte, radix: 16)
    }
}
