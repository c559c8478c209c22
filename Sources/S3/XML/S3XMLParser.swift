/// A small non-validating XML parser for S3 responses: elements, attributes (skipped), character data,
/// CDATA, comments, processing instructions and the predefined and numeric entities.
struct S3XMLParser {
    private let bytes: [UInt8]
    private var index = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    mutating func parseDocument() -> S3XMLNode? {
        skipMisc()
        guard peek() == UInt8(ascii: "<"), let root = parseElement() else { return nil }
        skipMisc()
        return index == bytes.count ? root : nil
    }

    /// Skips whitespace, `<?...?>`, `<!-- -->` and `<!DOCTYPE ...>` outside the root element.
    private mutating func skipMisc() {
        while index < bytes.count {
            if isSpace(bytes[index]) {
                index += 1
            } else if starts(with: "<?") {
                guard skip(past: "?>") else { return }
            } else if starts(with: "<!--") {
                guard skip(past: "-->") else { return }
            } else if starts(with: "<!") {
                guard skip(past: ">") else { return }
            } else {
                return
            }
        }
    }

    private mutating func parseElement() -> S3XMLNode? {
        guard peek() == UInt8(ascii: "<") else { return nil }
        index += 1
        guard let name = readName() else { return nil }
        // Attributes are irrelevant to S3 responses: skip to the end of the start tag, honouring quotes.
        var quote: UInt8?
        while index < bytes.count {
            let byte = bytes[index]
            if let q = quote {
                if byte == q { quote = nil }
            } else if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                quote = byte
            } else if byte == UInt8(ascii: ">") {
                break
            }
            index += 1
        }
        guard index < bytes.count else { return nil }
        var node = S3XMLNode(name: localName(name))
        if index > 0, bytes[index - 1] == UInt8(ascii: "/") {
            index += 1
            return node
        }
        index += 1
        var text: [UInt8] = []
        while index < bytes.count {
            if starts(with: "</") {
                index += 2
                guard let closing = readName(), closing == name else { return nil }
                while index < bytes.count, isSpace(bytes[index]) { index += 1 }
                guard peek() == UInt8(ascii: ">") else { return nil }
                index += 1
                node.text = String(decoding: text, as: UTF8.self)
                return node
            } else if starts(with: "<!--") {
                guard skip(past: "-->") else { return nil }
            } else if starts(with: "<![CDATA[") {
                index += 9
                let start = index
                guard skip(past: "]]>") else { return nil }
                text.append(contentsOf: bytes[start..<(index - 3)])
            } else if starts(with: "<?") {
                guard skip(past: "?>") else { return nil }
            } else if bytes[index] == UInt8(ascii: "<") {
                guard let child = parseElement() else { return nil }
                node.children.append(child)
            } else if bytes[index] == UInt8(ascii: "&") {
                guard let decoded = readEntity() else { return nil }
                text.append(contentsOf: decoded)
            } else {
                text.append(bytes[index])
                index += 1
            }
        }
        return nil
    }

    private mutating func readName() -> String? {
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if isSpace(byte) || byte == UInt8(ascii: ">") || byte == UInt8(ascii: "/") { break }
            index += 1
        }
        return index > start ? String(decoding: bytes[start..<index], as: UTF8.self) : nil
    }

    /// Reads `&name;` or `&#NN;` / `&#xNN;` and returns the UTF-8 of what it stands for.
    private mutating func readEntity() -> [UInt8]? {
        let start = index + 1
        guard let semicolon = bytes[start...].prefix(12).firstIndex(of: UInt8(ascii: ";")) else { return nil }
        let entity = String(decoding: bytes[start..<semicolon], as: UTF8.self)
        index = semicolon + 1
        switch entity {
        case "amp": return [UInt8(ascii: "&")]
        case "lt": return [UInt8(ascii: "<")]
        case "gt": return [UInt8(ascii: ">")]
        case "quot": return [UInt8(ascii: "\"")]
        case "apos": return [UInt8(ascii: "'")]
        default:
            guard entity.hasPrefix("#") else { return nil }
            let digits = entity.dropFirst()
            let scalarValue =
                digits.hasPrefix("x") || digits.hasPrefix("X")
                ? UInt32(digits.dropFirst(), radix: 16) : UInt32(digits, radix: 10)
            guard let value = scalarValue, let scalar = Unicode.Scalar(value) else { return nil }
            return Array(String(Character(scalar)).utf8)
        }
    }

    private func localName(_ name: String) -> String {
        if let colon = name.lastIndex(of: ":") { return String(name[name.index(after: colon)...]) }
        return name
    }

    private func peek() -> UInt8? {
        index < bytes.count ? bytes[index] : nil
    }

    private func starts(with literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { return false }
        return literal.withUTF8Buffer { buffer in
            for offset in 0..<count where bytes[index + offset] != buffer[offset] { return false }
            return true
        }
    }

    /// Moves past the next occurrence of `literal`; false when it never occurs.
    private mutating func skip(past literal: StaticString) -> Bool {
        while index < bytes.count {
            if starts(with: literal) {
                index += literal.utf8CodeUnitCount
                return true
            }
            index += 1
        }
        return false
    }

    private func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0a || byte == 0x0d
    }
}
