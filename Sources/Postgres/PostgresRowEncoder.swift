/// Encodes rows into the pipeline's record format (shared/design.md, "Messages"): the value is one compact
/// JSON object with the columns in table order, the key is the key column's decimal text.
///
/// Per type (the text forms assume the session settings `PostgresConnection` sets: DateStyle ISO, MDY,
/// IntervalStyle postgres, extra_float_digits 1, client_encoding UTF8):
/// - SQL NULL → `null`.
/// - int2, int4, int8, oid → JSON numbers, as PostgreSQL prints them.
/// - float4, float8 → JSON numbers as PostgreSQL prints them (shortest round-trip text since PostgreSQL 12,
///   e.g. `-0`, `1e+300`, `1.5e-07`). `NaN`, `Infinity` and `-Infinity` have no JSON form and become the JSON
///   strings `"NaN"`, `"Infinity"`, `"-Infinity"`.
/// - numeric → the exact JSON number from its text (any number of digits); `NaN`/`±Infinity` → strings.
/// - bool → `true` / `false`.
/// - timestamp → `"2020-08-28T03:52:47"` (fractional seconds as PostgreSQL prints them).
/// - timestamptz → `"2020-08-28T03:52:47+00:00"`: hour-only offsets become `+HH:MM`; historical offsets with
///   seconds (`+05:53:28`) stay as printed.
/// - `infinity`, `-infinity` and BC timestamps → their text as a string.
/// - date → `"2020-08-28"`; time, timetz → their text as a string.
/// - json, jsonb → embedded as is (raw line breaks in json, which can only be whitespace, become spaces).
/// - text, varchar, bpchar, name, "char", uuid → JSON strings.
/// - any other type (bytea, arrays, interval, inet, money, xml, ...) → its text as a JSON string; these columns
///   are listed in `textFallbackColumns`.
public struct PostgresRowEncoder: Sendable {
    enum Kind: UInt8, Sendable {
        case integer, float, numeric, bool, timestamp, timestamptz, string, json, fallback
    }

    public let columns: [PostgresColumn]
    /// The index of the key column.
    public let keyColumnIndex: Int
    let kinds: [Kind]
    /// `{"first":`, `,"second":`, ... concatenated; `prefixEnds[i]` is where column i's prefix ends.
    let prefixBytes: [UInt8]
    let prefixEnds: [Int]

    /// - Throws: `.keyColumnMissing` if no column is called `keyColumn`.
    public init(columns: [PostgresColumn], keyColumn: String) throws(PostgresError) {
        guard let keyIndex = columns.firstIndex(where: { $0.name == keyColumn }) else {
            let names = columns.map(\.name).joined(separator: ", ")
            throw PostgresError(
                code: .keyColumnMissing,
                message: "the key column \"\(keyColumn)\" is not among the columns (\(names)) — check the configured key column")
        }
        self.columns = columns
        self.keyColumnIndex = keyIndex
        self.kinds = columns.map { Self.kind(forTypeOID: $0.typeOID) }
        var bytes: [UInt8] = []
        var ends: [Int] = []
        for (index, column) in columns.enumerated() {
            bytes.append(index == 0 ? UInt8(ascii: "{") : UInt8(ascii: ","))
            var name = Array(column.name.utf8)
            name.withUnsafeMutableBytes { JSONByteWriter.appendString(UnsafeRawBufferPointer($0), to: &bytes) }
            bytes.append(UInt8(ascii: ":"))
            ends.append(bytes.count)
        }
        self.prefixBytes = bytes
        self.prefixEnds = ends
    }

    /// Columns whose type has no JSON mapping, encoded as their text (the pipeline logs these once).
    public var textFallbackColumns: [PostgresColumn] {
        zip(columns, kinds).filter { $0.1 == .fallback }.map(\.0)
    }

    static func kind(forTypeOID oid: UInt32) -> Kind {
        switch oid {
        case PostgresTypeOID.int2, PostgresTypeOID.int4, PostgresTypeOID.int8, PostgresTypeOID.oid: return .integer
        case PostgresTypeOID.float4, PostgresTypeOID.float8: return .float
        case PostgresTypeOID.numeric: return .numeric
        case PostgresTypeOID.bool: return .bool
        case PostgresTypeOID.timestamp: return .timestamp
        case PostgresTypeOID.timestamptz: return .timestamptz
        case PostgresTypeOID.json, PostgresTypeOID.jsonb: return .json
        case PostgresTypeOID.text, PostgresTypeOID.varchar, PostgresTypeOID.bpchar, PostgresTypeOID.name,
            PostgresTypeOID.char, PostgresTypeOID.uuid, PostgresTypeOID.unknown, PostgresTypeOID.date,
            PostgresTypeOID.time, PostgresTypeOID.timetz:
            return .string
        default: return .fallback
        }
    }

    /// Appends row `row` of `batch` as one compact JSON object (no trailing newline) to `buffer`.
    ///
    /// - Important: `batch` must have the columns this encoder was made for.
    public func encodeValue(_ batch: PostgresRowBatch, row: Int, into buffer: inout [UInt8]) {
        assert(batch.columns.count == kinds.count, "batch has \(batch.columns.count) columns, encoder \(kinds.count)")
        encode(into: &buffer) { column, body in batch.withNullableValue(row: row, column: column, body) }
    }

    /// Appends a row from a logical replication message (text values, as pgoutput sends them) as one compact JSON
    /// object, exactly as `encodeValue(_:row:into:)` encodes the same row read by a query.
    ///
    /// - Important: `tuple` must have the columns this encoder was made for and no `.unchangedToast` or `.binary`
    ///   value (those are written as `null`; callers check first).
    public func encodeValue(_ tuple: PgOutputTuple, into buffer: inout [UInt8]) {
        assert(tuple.values.count == kinds.count, "tuple has \(tuple.values.count) columns, encoder \(kinds.count)")
        encode(into: &buffer) { column, body in
            if case .text(let bytes) = tuple.values[column] { bytes.withUnsafeBytes { body($0) } } else { body(nil) }
        }
    }

    /// The one JSON object writer both row sources share: `value(column, body)` calls `body` with the column's
    /// text, or with nil for NULL.
    @inline(__always)
    private func encode(into buffer: inout [UInt8], value: (Int, (UnsafeRawBufferPointer?) -> Void) -> Void) {
        if kinds.isEmpty {
            buffer.append(UInt8(ascii: "{"))
            buffer.append(UInt8(ascii: "}"))
            return
        }
        prefixBytes.withUnsafeBufferPointer { prefixes in
            kinds.withUnsafeBufferPointer { kinds in
                var start = 0
                for column in 0..<kinds.count {
                    let end = prefixEnds[column]
                    buffer.append(contentsOf: UnsafeBufferPointer(rebasing: prefixes[start..<end]))
                    start = end
                    let kind = kinds[column]
                    value(column) { text in
                        if let text {
                            Self.append(kind, text, to: &buffer)
                        } else {
                            JSONByteWriter.appendLiteral("null", to: &buffer)
                        }
                    }
                }
            }
        }
        buffer.append(UInt8(ascii: "}"))
    }

    /// The key column's text (the decimal form for integer keys); nil when it is NULL.
    public func encodeKey(_ batch: PostgresRowBatch, row: Int) -> [UInt8]? {
        if batch.isNull(row: row, column: keyColumnIndex) { return nil }
        return batch.withValue(row: row, column: keyColumnIndex) { Array($0) }
    }

    /// Appends the key column's text to `buffer`; false (nothing appended) when it is NULL.
    public func encodeKey(_ batch: PostgresRowBatch, row: Int, into buffer: inout [UInt8]) -> Bool {
        if batch.isNull(row: row, column: keyColumnIndex) { return false }
        batch.withValue(row: row, column: keyColumnIndex) { buffer.append(contentsOf: $0) }
        return true
    }

    /// The key as a number (for checkpoints); nil when NULL or not a decimal integer in Int64's range.
    public func keyValue(_ batch: PostgresRowBatch, row: Int) -> Int64? {
        if batch.isNull(row: row, column: keyColumnIndex) { return nil }
        return batch.withValue(row: row, column: keyColumnIndex) { Self.parseInt64($0) }
    }

    static func parseInt64(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        var index = 0
        var negative = false
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
            negative = bytes[index] == UInt8(ascii: "-")
            index += 1
        }
        guard index < bytes.count else { return nil }
        var value: Int64 = 0
        while index < bytes.count {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (next, o2) = negative ? times10.subtractingReportingOverflow(Int64(digit)) : times10.addingReportingOverflow(Int64(digit))
            if o1 || o2 { return nil }
            value = next
            index += 1
        }
        return value
    }
}
