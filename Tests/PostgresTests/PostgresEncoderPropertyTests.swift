import Foundation
import Postgres
import Testing

/// Property test: random values of every supported type go into PostgreSQL through parameters, come back
/// through a stream, are encoded, parsed by Foundation's JSON parser and compared with what was inserted.
@Suite struct PostgresEncoderPropertyTests {
    static let columnsSQL = """
        id int PRIMARY KEY, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, num numeric, b bool, t text,
        ts timestamp, tstz timestamptz, d date, tm time, js json, jsb jsonb, u uuid, by bytea, iv interval,
        arr int4[]
        """
    static let columnNames = ["id", "i2", "i4", "i8", "f4", "f8", "num", "b", "t", "ts", "tstz", "d", "tm", "js", "jsb", "u", "by", "iv", "arr"]

    /// One column's value: the parameter text to insert and what the decoded JSON must be.
    enum Expected {
        case null
        case integer(Int64)
        case float4(Float)
        case float8(Double)
        case numeric(String)  // exact text, also checked in the raw bytes
        case bool(Bool)
        case string(String)
        case json(Any)
    }

    struct Generated {
        var parameter: String?
        var expected: Expected
    }

    @Test(arguments: [("Asia/Kolkata", 19_800), ("UTC", 0), ("Etc/GMT+3", -10_800)])
    func randomRowsRoundTrip(timeZone: String, offsetSeconds: Int) async throws {
        let connection = try await PostgresTestDatabase.connect(timeZone: timeZone)
        let table = PostgresTestDatabase.tableName("pg_prop")
        try await connection.execute("CREATE TEMP TABLE \(table) (\(Self.columnsSQL))")
        var generator = SplitMix64(seed: 0x5EED_0000 &+ UInt64(offsetSeconds + 100_000))
        let rowCount = 300
        var expectations: [[Expected]] = []
        let placeholders = (1...Self.columnNames.count).map { "$\($0)" }.joined(separator: ", ")
        for id in 0..<rowCount {
            var row = [Generated(parameter: String(id), expected: .integer(Int64(id)))]
            row += Self.generateRow(&generator, offsetSeconds: offsetSeconds)
            try await connection.execute("INSERT INTO \(table) VALUES (\(placeholders))", row.map(\.parameter))
            expectations.append(row.map(\.expected))
        }

        var encoder: PostgresRowEncoder?
        var checked = 0
        for try await batch in connection.stream("SELECT * FROM \(table) ORDER BY id", fetchSize: 64) {
            if encoder == nil {
                encoder = try PostgresRowEncoder(columns: batch.columns, keyColumn: "id")
                #expect(batch.columns.map(\.name) == Self.columnNames)
                #expect(encoder?.textFallbackColumns.map(\.name) == ["by", "iv", "arr"])
            }
            let encoder = try #require(encoder)
            for row in 0..<batch.count {
                var buffer: [UInt8] = []
                encoder.encodeValue(batch, row: row, into: &buffer)
                let id = try #require(encoder.keyValue(batch, row: row))
                #expect(encoder.encodeKey(batch, row: row) == Array(String(id).utf8))
                try Self.check(buffer, expected: expectations[Int(id)], id: id)
                checked += 1
            }
        }
        #expect(checked == rowCount)
        try await connection.execute("DROP TABLE \(table)")
        await connection.close()
    }

    // MARK: Checking

    static func check(_ record: [UInt8], expected: [Expected], id: Int64) throws {
        let text = String(decoding: record, as: UTF8.self)
        #expect(!record.contains(0x0A), "record \(id) spans lines")
        #expect(text.hasPrefix("{\"id\":\(id),\"i2\":"))
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(record)) as? [String: Any], "record \(id) is not an object: \(text)")
        #expect(object.count == columnNames.count)
        for (index, name) in columnNames.enumerated() {
            let value = object[name]
            let context = "row \(id) column \(name): \(String(describing: value)) in \(text)"
            switch expected[index] {
            case .null:
                #expect(value is NSNull, "\(context)")
            case .integer(let n):
                #expect(isNumber(value) && (value as? NSNumber)?.int64Value == n, "\(context)")
            case .float4(let f):
                if f.isNaN || f.isInfinite {
                    #expect(value as? String == nonFiniteText(Double(f)), "\(context)")
                } else {
                    #expect(isNumber(value) && numberAsDouble(value).map { Float($0) } == f, "\(context)")
                    if f == 0 && f.sign == .minus { #expect(text.contains("\"\(name)\":-0,"), "\(context)") }
                }
            case .float8(let d):
                if d.isNaN || d.isInfinite {
                    #expect(value as? String == nonFiniteText(d), "\(context)")
                } else {
                    #expect(isNumber(value) && numberAsDouble(value) == d, "\(context)")
                    if d == 0 && d.sign == .minus { #expect(text.contains("\"\(name)\":-0,"), "\(context)") }
                }
            case .numeric(let exact):
                if ["NaN", "Infinity", "-Infinity"].contains(exact) {
                    #expect(value as? String == exact, "\(context)")
                } else {
                    #expect(isNumber(value), "\(context)")
                    #expect(text.contains("\"\(name)\":\(exact),\""), "\(context) — expected exact \(exact)")
                }
            case .bool(let b):
                #expect((value as? Bool) == b && !isNumber(value), "\(context)")
            case .string(let s):
                #expect(value as? String == s, "\(context)")
            case .json(let j):
                #expect(jsonEqual(value as Any, j), "\(context)")
            }
        }
    }

    static func nonFiniteText(_ d: Double) -> String {
        d.isNaN ? "NaN" : (d < 0 ? "-Infinity" : "Infinity")
    }

    /// A JSON number (not a boolean: Foundation may hand booleans out as NSNumber too).
    static func isNumber(_ value: Any?) -> Bool {
        guard let number = value as? NSNumber else { return false }
        return !(value is Bool) || String(cString: number.objCType) != "c"
    }

    /// The number's exact value: Foundation on Linux parses long mantissas into NSDecimalNumber, whose
    /// `doubleValue` is not correctly rounded, so go through its decimal text.
    static func numberAsDouble(_ value: Any?) -> Double? {
        if let decimal = value as? NSDecimalNumber { return Double(decimal.stringValue) }
        return (value as? NSNumber)?.doubleValue
    }

    static func jsonEqual(_ a: Any, _ b: Any) -> Bool {
        switch (a, b) {
        case (is NSNull, is NSNull): return true
        case (let x as String, let y as String): return x == y
        case (let x as Bool, let y as Bool) where !isNumber(x) || !isNumber(y): return x == y
        case (let x as NSNumber, let y as NSNumber): return numberAsDouble(x) == numberAsDouble(y)
        case (let x as [Any], let y as [Any]): return x.count == y.count && zip(x, y).allSatisfy { jsonEqual($0, $1) }
        case (let x as [String: Any], let y as [String: Any]):
            return x.count == y.count && x.allSatisfy { key, value in y[key].map { jsonEqual(value, $0) } ?? false }
        default: return false
        }
    }
}
