import Foundation
@testable import Pipeline
import Testing

/// Property tests of the request and reply envelopes: for many generated requests (random JSON values, keys,
/// partitions, whitespace; random bytes for the binary format), what pinpipe produces is exactly what was sent,
/// and every reply is valid JSON of exactly the v2 shape. Seeded, so a failure replays.
@Suite struct RestEnvelopePropertyTests {
    /// SplitMix64: small, seedable, good enough for test data.
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func int(_ range: ClosedRange<Int>) -> Int {
            range.lowerBound + Int(next() % UInt64(range.count))
        }
        mutating func bool() -> Bool { next() & 1 == 0 }
    }

    /// Insignificant whitespace, sometimes.
    static func space(_ g: inout Generator) -> String {
        [" ", "", "\n", "\t ", "", "  \r\n"][g.int(0...5)]
    }

    static func string(_ g: inout Generator) -> String {
        let pieces = ["a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\u{01}", "é", "日本", "😀", "Art.", "N,o, ,T"]
        return (0..<g.int(0...8)).map { _ in pieces[g.int(0...(pieces.count - 1))] }.joined()
    }

    /// A random JSON value as text (with random whitespace) and as a Foundation object (the reference).
    static func value(_ g: inout Generator, depth: Int = 0) -> String {
        let kind = depth > 3 ? g.int(0...4) : g.int(0...6)
        switch kind {
        case 0: return ["true", "false", "null"][g.int(0...2)]
        case 1: return String(g.int(-1_000_000...1_000_000))
        case 2: return ["-89.9787", "-173.293", "0.5", "1e3", "-2.5E-7", "0", "15000000"][g.int(0...6)]
        case 3, 4: return RestJSONWriter.string(string(&g))
        case 5:
            let members = (0..<g.int(0...5)).map { index in
                space(&g) + RestJSONWriter.string("k\(index)" + string(&g)) + space(&g) + ":" + space(&g)
                    + value(&g, depth: depth + 1)
            }
            return "{" + members.joined(separator: ",") + space(&g) + "}"
        default:
            let elements = (0..<g.int(0...4)).map { _ in space(&g) + value(&g, depth: depth + 1) + space(&g) }
            return "[" + elements.joined(separator: ",") + "]"
        }
    }

    static func parsed(_ bytes: [UInt8]) -> NSObject? {
        try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]) as? NSObject
    }

    @Test func jsonFormatProducesEachValueAsSentCompacted() throws {
        var g = Generator(state: 14)
        for _ in 0..<400 {
            let count = g.int(1...6)
            var expected: [(key: String?, value: String?, partition: Int32?)] = []
            var records: [String] = []
            for _ in 0..<count {
                var members: [String] = []
                let key: String? = g.bool() ? Self.value(&g) : nil
                let value: String? = g.int(0...5) > 0 ? Self.value(&g) : nil
                let partition: Int32? = g.bool() ? Int32(g.int(0...5)) : nil
                if let key { members.append(#""key":"# + Self.space(&g) + key) }
                if let value { members.append(#""value":"# + Self.space(&g) + value) } else if g.bool() {
                    members.append(#""value":null"#)
                }
                if let partition { members.append(#""partition":\#(partition)"#) }
                if g.bool() { members.append(#""ignored":{"a":[1,2]}"#) }
                records.append("{" + Self.space(&g) + members.joined(separator: "," + Self.space(&g)) + "}")
                expected.append((key == "null" ? nil : key, value == "null" ? nil : value, partition))
            }
            let body = "{" + Self.space(&g) + #""records":"# + Self.space(&g) + "[" + records.joined(separator: ",") + "]"
                + (g.bool() ? #","value_schema_id":null"# : "") + "}" + Self.space(&g)
            let request = try RestProduceRequest.parse(Array(body.utf8), format: .json, maxRecords: 1000)
            #expect(request.records.count == count)
            for (record, want) in zip(request.records, expected) {
                #expect(record.partition == want.partition)
                // Same JSON value as sent, and no insignificant whitespace left.
                for (got, sent) in [(record.key, want.key), (record.value, want.value)] {
                    #expect((got == nil) == (sent == nil), "\(body)")
                    guard let got, let sent else { continue }
                    #expect(Self.parsed(got) == Self.parsed(Array(sent.utf8)), "\(body)")
                    #expect(got == RestJSONScanner(bytes: got).compacted(0..<got.count))
                    #expect(!String(decoding: got, as: UTF8.self).contains("\n"))
                }
            }
        }
    }

    @Test func binaryFormatProducesTheDecodedBytes() throws {
        var g = Generator(state: 7)
        for _ in 0..<300 {
            let values = (0..<g.int(1...5)).map { _ in (0..<g.int(0...40)).map { _ in UInt8(g.int(0...255)) } }
            let keys = values.map { _ in g.bool() ? (0..<g.int(1...8)).map { _ in UInt8(g.int(0...255)) } : nil }
            let records = zip(keys, values).map { key, value in
                "{" + (key.map { #""key":""# + Base64.encode($0) + #"","# } ?? "") + #""value":""# + Base64.encode(value) + #""}"#
            }
            let body = #"{"records":["# + records.joined(separator: ",") + "]}"
            let request = try RestProduceRequest.parse(Array(body.utf8), format: .binary, maxRecords: 1000)
            #expect(request.records.map(\.value) == values)
            #expect(request.records.map(\.key) == keys)
        }
    }

    @Test func repliesAreExactlyTheV2Shape() throws {
        var g = Generator(state: 3)
        for _ in 0..<300 {
            let outcomes: [RestProduceResponse.Outcome] = (0..<g.int(1...20)).map { _ in
                g.int(0...4) > 0
                    ? .stored(partition: Int32(g.int(0...100)), offset: Int64(g.int(0...Int(Int32.max))) * 1000)
                    : .failed(code: g.bool() ? 50003 : 50002, message: Self.string(&g))
            }
            let json = RestProduceResponse(offsets: outcomes).json
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
            #expect(Set(object.keys) == ["offsets", "key_schema_id", "value_schema_id"])
            #expect(object["key_schema_id"] is NSNull && object["value_schema_id"] is NSNull)
            let offsets = try #require(object["offsets"] as? [[String: Any]])
            #expect(offsets.count == outcomes.count)
            for (entry, outcome) in zip(offsets, outcomes) {
                #expect(Set(entry.keys) == ["partition", "offset", "error_code", "error"])
                switch outcome {
                case .stored(let partition, let offset):
                    #expect(entry["partition"] as? Int == Int(partition) && entry["offset"] as? Int64 == offset)
                    #expect(entry["error_code"] is NSNull && entry["error"] is NSNull)
                case .failed(let code, let message):
                    #expect(entry["partition"] is NSNull && entry["offset"] is NSNull)
                    #expect(entry["error_code"] as? Int == code && entry["error"] as? String == message)
                }
            }
            let error = RestError(g.bool() ? 40401 : 42201, Self.string(&g))
            let envelope = try #require(try JSONSerialization.jsonObject(with: Data(error.json.utf8)) as? [String: Any])
            #expect(Set(envelope.keys) == ["error_code", "message"])
            #expect(envelope["error_code"] as? Int == error.errorCode && envelope["message"] as? String == error.message)
        }
    }

    /// Whatever bytes arrive, parsing ends in a request or a RestError (never a crash), and a body that
    /// JSONSerialization refuses is never accepted.
    @Test func arbitraryBodiesNeverCrashAndInvalidJSONIsRefused() {
        var g = Generator(state: 99)
        let alphabet = Array(#"{}[]":,"records" value key partition 0 1 -. e null true \ u00"#.utf8) + [0xC3, 0xFF, 0x0A]
        for _ in 0..<3000 {
            var body = Array(#"{"records":[{"value":"#.utf8)
            body += (0..<g.int(0...30)).map { _ in alphabet[g.int(0...(alphabet.count - 1))] }
            let accepted = (try? RestProduceRequest.parse(body, format: .json, maxRecords: 1000)) != nil
            if accepted {
                #expect((try? JSONSerialization.jsonObject(with: Data(body))) != nil,
                        "accepted invalid JSON: \(String(decoding: body, as: UTF8.self))")
            }
        }
    }
}
