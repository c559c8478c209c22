import Foundation
@testable import Postgres
import Testing

/// The encoder on hand-made batches (no server): exact bytes for known inputs.
@Suite struct PostgresRowEncoderTests {
    typealias OID = PostgresTypeOID

    static func encode(_ columns: [PostgresColumn], _ row: [String?], key: String? = nil) throws -> String {
        let batch = PostgresRowBatch(columns: columns, rows: [row])
        let encoder = try PostgresRowEncoder(columns: batch.columns, keyColumn: key ?? columns[0].name)
        var buffer: [UInt8] = []
        encoder.encodeValue(batch, row: 0, into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    static let geoColumns = [
        PostgresColumn(name: "ind", typeOID: OID.int4), PostgresColumn(name: "timestamp", typeOID: OID.timestamp),
        PostgresColumn(name: "latitude", typeOID: OID.float8), PostgresColumn(name: "longitude", typeOID: OID.float8),
        PostgresColumn(name: "country", typeOID: OID.text),
    ]
    static let userColumns = [
        PostgresColumn(name: "ind", typeOID: OID.int4), PostgresColumn(name: "first_name", typeOID: OID.text),
        PostgresColumn(name: "last_name", typeOID: OID.text), PostgresColumn(name: "age", typeOID: OID.int4),
        PostgresColumn(name: "date_joined", typeOID: OID.timestamp),
    ]
    static let pinColumns: [PostgresColumn] = [
        ("index", OID.int4), ("unique_id", OID.text), ("title", OID.text), ("description", OID.text),
        ("poster_name", OID.text), ("follower_count", OID.text), ("tag_list", OID.text),
        ("is_image_or_video", OID.text), ("image_src", OID.text), ("downloaded", OID.int4),
        ("save_location", OID.text), ("category", OID.text),
    ].map { PostgresColumn(name: $0.0, typeOID: $0.1) }

    static let pinRow: [String?] = [
        "7528", "fbe53c66-3442-4773-b19e-d3ec6f54dddf", "No Title Data Available",
        "No description available Story format", "User Info Error", "User Info Error",
        "N,o, ,T,a,g,s, ,A,v,a,i,l,a,b,l,e", "multi-video(story page format)", "Image src error.", "0",
        "Local save in /data/mens-fashion", "mens-fashion",
    ]

    @Test func canonicalGeoRow() throws {
        let json = try Self.encode(Self.geoColumns, ["7528", "2020-08-28 03:52:47", "-89.9787", "-173.293", "Albania"])
        #expect(json == #"{"ind":7528,"timestamp":"2020-08-28T03:52:47","latitude":-89.9787,"longitude":-173.293,"country":"Albania"}"#)
    }

    @Test func canonicalUserRow() throws {
        let json = try Self.encode(Self.userColumns, ["7528", "Abigail", "Ali", "20", "2015-10-24 11:23:51"])
        #expect(json == #"{"ind":7528,"first_name":"Abigail","last_name":"Ali","age":20,"date_joined":"2015-10-24T11:23:51"}"#)
    }

    @Test func canonicalPinRow() throws {
        let json = try Self.encode(Self.pinColumns, Self.pinRow, key: "index")
        #expect(json == #"{"index":7528,"unique_id":"fbe53c66-3442-4773-b19e-d3ec6f54dddf","title":"No Title Data Available","description":"No description available Story format","poster_name":"User Info Error","follower_count":"User Info Error","tag_list":"N,o, ,T,a,g,s, ,A,v,a,i,l,a,b,l,e","is_image_or_video":"multi-video(story page format)","image_src":"Image src error.","downloaded":0,"save_location":"Local save in /data/mens-fashion","category":"mens-fashion"}"#)
    }

    @Test func keyIsTheKeyColumnsText() throws {
        let batch = PostgresRowBatch(columns: Self.pinColumns, rows: [Self.pinRow])
        let encoder = try PostgresRowEncoder(columns: batch.columns, keyColumn: "index")
        #expect(encoder.keyColumnIndex == 0)
        #expect(encoder.encodeKey(batch, row: 0) == Array("7528".utf8))
        #expect(encoder.keyValue(batch, row: 0) == 7528)
        #expect(encoder.textFallbackColumns.isEmpty)
    }

    @Test func missingKeyColumnIsAnError() {
        #expect {
            _ = try PostgresRowEncoder(columns: Self.geoColumns, keyColumn: "index")
        } throws: { error in
            let error = error as? PostgresError
            return error?.code == .keyColumnMissing && error?.isRetriable == false
                && error?.message.contains("\"index\"") == true && error?.message.contains("ind, timestamp") == true
        }
    }

    @Test(arguments: [
        ("9223372036854775807", Int64.max as Int64?), ("-9223372036854775808", Int64.min), ("0", 0), ("-17", -17),
        ("9223372036854775808", nil), ("12a", nil), ("", nil), ("-", nil), ("1.0", nil),
    ])
    func keyValueParsing(text: String, expected: Int64?) throws {
        let columns = [PostgresColumn(name: "k", typeOID: OID.text)]
        let batch = PostgresRowBatch(columns: columns, rows: [[text], [nil]])
        let encoder = try PostgresRowEncoder(columns: columns, keyColumn: "k")
        #expect(encoder.keyValue(batch, row: 0) == expected)
        #expect(encoder.keyValue(batch, row: 1) == nil)
        #expect(encoder.encodeKey(batch, row: 0) == Array(text.utf8))
        #expect(encoder.encodeKey(batch, row: 1) == nil)
    }

    @Test func nullsBoolsAndIntegers() throws {
        let columns = [
            PostgresColumn(name: "a", typeOID: OID.int8), PostgresColumn(name: "b", typeOID: OID.bool),
            PostgresColumn(name: "c", typeOID: OID.bool), PostgresColumn(name: "d", typeOID: OID.text),
            PostgresColumn(name: "e", typeOID: OID.int2), PostgresColumn(name: "f", typeOID: OID.oid),
        ]
        #expect(try Self.encode(columns, ["-9223372036854775808", "t", "f", nil, "-32768", "4294967295"])
            == #"{"a":-9223372036854775808,"b":true,"c":false,"d":null,"e":-32768,"f":4294967295}"#)
        #expect(try Self.encode(columns, [nil, nil, nil, "", nil, nil])
            == #"{"a":null,"b":null,"c":null,"d":"","e":null,"f":null}"#)
    }

    @Test(arguments: [
        ("NaN", #""NaN""#), ("Infinity", #""Infinity""#), ("-Infinity", #""-Infinity""#), ("-0", "-0"),
        ("1e+300", "1e+300"), ("1.5e-07", "1.5e-07"), ("-173.293", "-173.293"), ("5e-324", "5e-324"),
    ])
    func floats(text: String, json: String) throws {
        for oid in [OID.float4, OID.float8] {
            #expect(try Self.encode([PostgresColumn(name: "x", typeOID: oid)], [text]) == "{\"x\":\(json)}")
        }
    }

    @Test(arguments: [
        ("NaN", #""NaN""#), ("Infinity", #""Infinity""#), ("-Infinity", #""-Infinity""#),
        ("123456789012345678901234567890.000000000000000000001", "123456789012345678901234567890.000000000000000000001"),
        ("-0.00100", "-0.00100"),
    ])
    func numerics(text: String, json: String) throws {
        #expect(try Self.encode([PostgresColumn(name: "n", typeOID: OID.numeric)], [text]) == "{\"n\":\(json)}")
    }

    @Test(arguments: [
        (OID.timestamp, "2020-08-28 03:52:47", "2020-08-28T03:52:47"),
        (OID.timestamp, "2020-08-28 03:52:47.5", "2020-08-28T03:52:47.5"),
        (OID.timestamp, "2020-08-28 03:52:47.123456", "2020-08-28T03:52:47.123456"),
        (OID.timestamp, "10000-01-01 00:00:00", "10000-01-01T00:00:00"),
        (OID.timestamp, "infinity", "infinity"),
        (OID.timestamp, "-infinity", "-infinity"),
        (OID.timestamp, "0044-03-15 12:00:00 BC", "0044-03-15 12:00:00 BC"),
        (OID.timestamptz, "2020-08-28 03:52:47+00", "2020-08-28T03:52:47+00:00"),
        (OID.timestamptz, "2020-08-28 03:52:47.25-03", "2020-08-28T03:52:47.25-03:00"),
        (OID.timestamptz, "2020-08-28 09:22:47+05:30", "2020-08-28T09:22:47+05:30"),
        (OID.timestamptz, "2020-01-01 00:00:00-03:30", "2020-01-01T00:00:00-03:30"),
        (OID.timestamptz, "1900-01-01 00:00:00+00:19:32", "1900-01-01T00:00:00+00:19:32"),
        (OID.timestamptz, "0044-03-15 12:00:00+05:53:28 BC", "0044-03-15 12:00:00+05:53:28 BC"),
        (OID.timestamptz, "-infinity", "-infinity"),
        (OID.date, "2020-08-28", "2020-08-28"),
        (OID.date, "0044-03-15 BC", "0044-03-15 BC"),
        (OID.time, "12:34:56.5", "12:34:56.5"),
        (OID.timetz, "12:34:56+05:30", "12:34:56+05:30"),
    ])
    func dateAndTime(oid: UInt32, text: String, expected: String) throws {
        #expect(try Self.encode([PostgresColumn(name: "t", typeOID: oid)], [text]) == "{\"t\":\"\(expected)\"}")
    }

    @Test func stringEscaping() throws {
        let column = [PostgresColumn(name: "s", typeOID: OID.text)]
        #expect(try Self.encode(column, ["say \"hi\" \\ bye"]) == #"{"s":"say \"hi\" \\ bye"}"#)
        #expect(try Self.encode(column, ["a\nb\rc\td\u{8}e\u{C}f"]) == #"{"s":"a\nb\rc\td\be\ff"}"#)
        #expect(try Self.encode(column, ["\u{1}\u{1F}\u{7F}"]) == "{\"s\":\"\\u0001\\u001f\u{7F}\"}")
        #expect(try Self.encode(column, ["Zürich 東京 🚀 \u{2028}"]) == "{\"s\":\"Zürich 東京 🚀 \u{2028}\"}")
        // Every control character round-trips through a real JSON parser.
        let all = String((1..<0x20).map { Character(Unicode.Scalar(UInt8($0))) }) + "\"\\/"
        let json = try Self.encode(column, [all])
        let parsed = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        #expect(parsed?["s"] as? String == all)
        #expect(!json.utf8.contains { $0 < 0x20 })
    }

    /// The eight-bytes-at-a-time scan against a byte-by-byte reference: random strings of every length up to 40
    /// with the characters that need escaping (and bytes just around them: 0x1F/0x20, 0x21/0x23, 0x5B/0x5D, high
    /// bytes) at every position, also at word boundaries and in the tail.
    @Test func escapingMatchesAByteByByteReferenceAtEveryPosition() throws {
        func reference(_ bytes: [UInt8]) -> [UInt8] {
            var out: [UInt8] = [0x22]
            for b in bytes {
                switch b {
                case 0x22: out += [0x5C, 0x22]
                case 0x5C: out += [0x5C, 0x5C]
                case 0x0A: out += [0x5C, UInt8(ascii: "n")]
                case 0x0D: out += [0x5C, UInt8(ascii: "r")]
                case 0x09: out += [0x5C, UInt8(ascii: "t")]
                case 0x08: out += [0x5C, UInt8(ascii: "b")]
                case 0x0C: out += [0x5C, UInt8(ascii: "f")]
                case ..<0x20: out += Array(String(format: "\\u%04x", Int(b)).utf8)
                default: out.append(b)
                }
            }
            out.append(0x22)
            return out
        }
        let interesting: [UInt8] = [0x00, 0x01, 0x0A, 0x1F, 0x20, 0x21, 0x22, 0x23, 0x5B, 0x5C, 0x5D, 0x7F, 0x80, 0xA2,
                                    0xDC, 0xFF, UInt8(ascii: "a")]
        var generator = SplitMix64(seed: 0xE5CA9E)
        var checked = 0
        for length in 0...40 {
            for _ in 0..<200 {
                var bytes = (0..<length).map { _ in UInt8(ascii: "a") &+ UInt8(generator.next() % 26) }
                for _ in 0..<Int(generator.next() % 3) where length > 0 {
                    bytes[Int(generator.next() % UInt64(length))] = interesting[Int(generator.next() % UInt64(interesting.count))]
                }
                var out: [UInt8] = []
                bytes.withUnsafeBytes { JSONByteWriter.appendString($0, to: &out) }
                #expect(out == reference(bytes), "\(bytes)")
                checked += 1
            }
        }
        #expect(checked == 41 * 200)
    }

    @Test func columnNamesAreEscaped() throws {
        let columns = [PostgresColumn(name: "we\"ird\\name", typeOID: OID.int4), PostgresColumn(name: "ü", typeOID: OID.int4)]
        #expect(try Self.encode(columns, ["1", "2"]) == #"{"we\"ird\\name":1,"ü":2}"#)
    }

    @Test func jsonIsEmbeddedOnOneLine() throws {
        let columns = [PostgresColumn(name: "j", typeOID: OID.json), PostgresColumn(name: "b", typeOID: OID.jsonb)]
        let json = try Self.encode(columns, ["{\n  \"a\": [1, \"x\\ny\"],\r\n  \"b\": null\n}", #"{"k": "v"}"#])
        #expect(json == #"{"j":{   "a": [1, "x\ny"],    "b": null },"b":{"k": "v"}}"#)
    }

    @Test func otherTypesFallBackToText() throws {
        let columns = [
            PostgresColumn(name: "id", typeOID: OID.int4), PostgresColumn(name: "raw", typeOID: OID.bytea),
            PostgresColumn(name: "span", typeOID: OID.interval), PostgresColumn(name: "list", typeOID: OID.int4Array),
            PostgresColumn(name: "u", typeOID: OID.uuid), PostgresColumn(name: "cash", typeOID: OID.money),
        ]
        let batch = PostgresRowBatch(columns: columns, rows: [["1", "\\x00ff", "1 day 02:00:00", "{1,\"2\"}", "fbe53c66-3442-4773-b19e-d3ec6f54dddf", "$1.00"]])
        let encoder = try PostgresRowEncoder(columns: columns, keyColumn: "id")
        var buffer: [UInt8] = []
        encoder.encodeValue(batch, row: 0, into: &buffer)
        #expect(String(decoding: buffer, as: UTF8.self)
            == #"{"id":1,"raw":"\\x00ff","span":"1 day 02:00:00","list":"{1,\"2\"}","u":"fbe53c66-3442-4773-b19e-d3ec6f54dddf","cash":"$1.00"}"#)
        #expect(encoder.textFallbackColumns.map(\.name) == ["raw", "span", "list", "cash"])
    }

    @Test func encodeValueAppends() throws {
        let batch = PostgresRowBatch(columns: Self.userColumns, rows: [
            ["1", "A", "B", "30", "2016-01-01 00:00:00"], ["2", nil, "C", nil, nil],
        ])
        let encoder = try PostgresRowEncoder(columns: batch.columns, keyColumn: "ind")
        var buffer = Array("[".utf8)
        encoder.encodeValue(batch, row: 0, into: &buffer)
        buffer.append(UInt8(ascii: ","))
        encoder.encodeValue(batch, row: 1, into: &buffer)
        buffer.append(UInt8(ascii: "]"))
        #expect(String(decoding: buffer, as: UTF8.self)
            == #"[{"ind":1,"first_name":"A","last_name":"B","age":30,"date_joined":"2016-01-01T00:00:00"},{"ind":2,"first_name":null,"last_name":"C","age":null,"date_joined":null}]"#)
    }

    @Test func inMemoryBatchReadsBack() {
        let batch = PostgresRowBatch(columns: Self.userColumns, rows: [["1", "Zoë", nil, "", "x"]])
        #expect(batch.count == 1)
        #expect(batch.columns == Self.userColumns)
        #expect(batch.string(row: 0, column: 1) == "Zoë")
        #expect(batch.string(row: 0, column: 2) == nil)
        #expect(batch.isNull(row: 0, column: 2))
        #expect(!batch.isNull(row: 0, column: 3))
        #expect(batch.string(row: 0, column: 3) == "")
        #expect(batch.withValue(row: 0, column: 1) { $0.count } == "Zoë".utf8.count)
        #expect(batch.columnIndex(named: "age") == 3)
    }
}
