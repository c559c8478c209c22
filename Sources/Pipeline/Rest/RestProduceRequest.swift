/// A produce request's body, `{"records":[{"key":K,"value":V,"partition":P}, ...]}`, read for one embedded format.
///
/// `json`: a key or value is any JSON value and is produced as its compact JSON text (insignificant whitespace
/// dropped, every other byte as sent, so numbers keep their spelling); `null` produces no key or no value.
/// `binary`: a key or value is a base64 string (or `null`) and is produced as the decoded bytes.
/// Unknown fields are ignored, as the proxy does; the schema fields (`value_schema`, ...) mean nothing to these
/// two formats.
public struct RestProduceRequest: Sendable, Equatable {
    public struct Record: Sendable, Equatable {
        public var key: [UInt8]?
        public var value: [UInt8]?
        public var partition: Int32?

        public init(key: [UInt8]?, value: [UInt8]?, partition: Int32?) {
            self.key = key
            self.value = value
            self.partition = partition
        }

        /// What Kafka counts against its size limit, near enough.
        var size: Int { (key?.count ?? 0) + (value?.count ?? 0) }
    }

    public var records: [Record]

    public init(records: [Record]) {
        self.records = records
    }

    /// Reads `body`; the error names what is wrong and where (`records[3].value`, or a byte position).
    static func parse(_ body: [UInt8], format: RestMediaType.EmbeddedFormat, maxRecords: Int) throws(RestError)
        -> RestProduceRequest
    {
        var scanner = RestJSONScanner(bytes: body)
        scanner.skipSpace()
        guard !scanner.atEnd else { throw RestError(RestError.unprocessable, "The request body is empty.") }
        guard scanner.current == UInt8(ascii: "{") else {
            try scanner.validateValue()
            throw RestError(RestError.unprocessable, "The request body must be a JSON object with a \"records\" array.")
        }
        var records: [Record]?
        try scanner.object { (scanner: inout RestJSONScanner, name: String) throws(RestError) in
            if name == "records" {
                records = try Self.records(&scanner, format: format, maxRecords: maxRecords)
            } else {
                try scanner.validateValue()
            }
        }
        scanner.skipSpace()
        guard scanner.atEnd else { throw scanner.syntaxError("unexpected data after the JSON object") }
        guard let records else {
            throw RestError(RestError.unprocessable, "The request has no \"records\" field.")
        }
        guard !records.isEmpty else {
            throw RestError(RestError.unprocessable, "The \"records\" array is empty.")
        }
        return RestProduceRequest(records: records)
    }

    private static func records(_ scanner: inout RestJSONScanner, format: RestMediaType.EmbeddedFormat,
                                maxRecords: Int) throws(RestError) -> [Record]
    {
        if scanner.peekLiteral("null") {
            try scanner.validateValue()
            throw RestError(RestError.unprocessable, "\"records\" may not be null.")
        }
        guard scanner.current == UInt8(ascii: "[") else {
            try scanner.validateValue()
            throw RestError(RestError.unprocessable, "\"records\" must be an array of objects.")
        }
        var records: [Record] = []
        try scanner.array { (scanner: inout RestJSONScanner, index: Int) throws(RestError) in
            guard index < maxRecords else {
                throw RestError(RestError.unprocessable,
                                "Too many records: at most \(maxRecords) per request (rest.max_records).")
            }
            guard scanner.current == UInt8(ascii: "{") else {
                try scanner.validateValue()
                throw RestError(RestError.unprocessable, "records[\(index)] must be an object.")
            }
            var record = Record(key: nil, value: nil, partition: nil)
            try scanner.object { (scanner: inout RestJSONScanner, name: String) throws(RestError) in
                switch name {
                case "key": record.key = try embedded(&scanner, format: format, what: "records[\(index)].key")
                case "value": record.value = try embedded(&scanner, format: format, what: "records[\(index)].value")
                case "partition": record.partition = try partition(&scanner, what: "records[\(index)].partition")
                default: try scanner.validateValue()
                }
            }
            records.append(record)
        }
        return records
    }

    private static func embedded(_ scanner: inout RestJSONScanner, format: RestMediaType.EmbeddedFormat, what: String)
        throws(RestError) -> [UInt8]?
    {
        if scanner.peekLiteral("null") {
            try scanner.validateValue()
            return nil
        }
        switch format {
        case .json:
            let span = try scanner.validateValue()
            return scanner.compacted(span)
        case .binary:
            guard scanner.current == UInt8(ascii: "\"") else {
                let kind = scanner.kindOfValue
                try scanner.validateValue()
                throw RestError(RestError.unprocessable,
                                "\(what): the binary embedded format needs a base64 string, not \(kind) "
                                    + "(send Content-Type: application/vnd.kafka.json.v2+json for JSON values).")
            }
            let text = try scanner.string()
            guard let bytes = Base64.decode(text) else {
                throw RestError(RestError.unprocessable, "\(what): not valid base64.")
            }
            return bytes
        }
    }

    private static func partition(_ scanner: inout RestJSONScanner, what: String) throws(RestError) -> Int32? {
        if scanner.peekLiteral("null") {
            try scanner.validateValue()
            return nil
        }
        let span = try scanner.validateValue()
        let text = String(decoding: scanner.bytes[span], as: UTF8.self)
        guard let number = Int32(text), number >= 0 else {
            throw RestError(RestError.invalidPartition, "Invalid partition: \(what) is \(text), not a partition number.")
        }
        return number
    }
}

/// Standard base64 (RFC 4648, padding optional, no line breaks), the proxy's binary format.
enum Base64 {
    static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count * 3 / 4)
        var buffer: UInt32 = 0
        var bits = 0
        var padding = 0
        for byte in text.utf8 {
            let value: UInt32
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = UInt32(byte - 65)
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = UInt32(byte - 97 + 26)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = UInt32(byte - 48 + 52)
            case UInt8(ascii: "+"): value = 62
            case UInt8(ascii: "/"): value = 63
            case UInt8(ascii: "="):
                padding += 1
                continue
            default: return nil
            }
            guard padding == 0 else { return nil }
            buffer = buffer << 6 | value
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
            }
        }
        // Leftover bits must be zero padding of a 2- or 3-character group.
        guard bits < 6, buffer & ((1 << UInt32(bits)) - 1) == 0, padding <= 2 else { return nil }
        return out
    }

    static func encode(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let b0 = UInt32(bytes[index])
            let b1 = index + 1 < bytes.count ? UInt32(bytes[index + 1]) : 0
            let b2 = index + 2 < bytes.count ? UInt32(bytes[index + 2]) : 0
            let group = b0 << 16 | b1 << 8 | b2
            out.append(alphabet[Int(group >> 18 & 63)])
            out.append(alphabet[Int(group >> 12 & 63)])
            out.append(index + 1 < bytes.count ? alphabet[Int(group >> 6 & 63)] : UInt8(ascii: "="))
            out.append(index + 2 < bytes.count ? alphabet[Int(group & 63)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}
