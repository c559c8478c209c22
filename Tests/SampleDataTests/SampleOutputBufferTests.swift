import Foundation
import Testing

@testable import SampleData

@Suite struct SampleOutputBufferTests {
    private func csv(_ text: String) -> String {
        var b = SampleOutputBuffer()
        b.csvField(text)
        return String(decoding: b.bytes, as: UTF8.self)
    }

    private func json(_ text: String) -> String {
        var b = SampleOutputBuffer()
        b.jsonString(text)
        return String(decoding: b.bytes, as: UTF8.self)
    }

    private func number(_ v: Double) -> String {
        var b = SampleOutputBuffer()
        b.double(v)
        return String(decoding: b.bytes, as: UTF8.self)
    }

    @Test func csvQuotesOnlyWhenNeeded() {
        #expect(csv("plain text") == "plain text")
        #expect(csv("") == "\"\"")  // an unquoted empty field would load as NULL
        #expect(csv("a,b") == "\"a,b\"")
        #expect(csv("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(csv("two\nlines") == "\"two\nlines\"")
        #expect(csv("back\\slash") == "\"back\\slash\"")
        #expect(csv("Cote d'Ivoire") == "Cote d'Ivoire")
    }

    @Test func csvRoundTripsAwkwardValues() {
        let values = ["", "a,b", "\"", "\"\"", "x\"y,z", "line1\nline2\r\n", "N,o, ,T,a,g,s", "caf\u{E9} \u{1F60D}", ","]
        var b = SampleOutputBuffer()
        for (i, v) in values.enumerated() {
            if i > 0 { b.byte(0x2C) }
            b.csvField(v)
        }
        b.byte(0x0A)
        let records = CSVReader.records(String(decoding: b.bytes, as: UTF8.self))
        #expect(records.count == 1)
        #expect(records.first?.map { $0 ?? "<NULL>" } == values)
    }

    @Test func jsonEscapesAndParses() throws {
        let values = ["plain", "quote \" and backslash \\", "tab\tnew\nline\r", "\u{01}\u{1F}", "caf\u{E9} \u{1F60D}", ""]
        for v in values {
            let text = json(v)
            let parsed = try JSONSerialization.jsonObject(with: Data("[\(text)]".utf8)) as? [String]
            #expect(parsed == [v], "\(text)")
            #expect(!text.utf8.dropFirst().dropLast().contains { $0 < 0x20 }, "raw control character in \(text)")
        }
        #expect(json("a\"b") == "\"a\\\"b\"")
        #expect(json("\u{01}") == "\"\\u0001\"")
    }

    @Test func doublesInShortestPlainDecimal() {
        #expect(number(-89.9787) == "-89.9787")
        #expect(number(-173.293) == "-173.293")
        #expect(number(0.5) == "0.5")
        #expect(number(12) == "12.0")
        #expect(number(0.000001) == "0.000001")
        #expect(number(-0.0) == "0.0")
        // Not representable with six decimals: Swift's shortest round-trip text.
        #expect(number(1.0 / 3.0) == (1.0 / 3.0).description)
        for v in [45.1234, -0.123456, 179.999, 3.14159] {
            #expect(Double(number(v)) == v)
        }
    }

    @Test func integers() {
        var b = SampleOutputBuffer()
        for v in [0, 7, 10, 99, 100, 11_152, -42, Int.max, Int.min] {
            b.integer(v)
            b.byte(0x20)
        }
        #expect(String(decoding: b.bytes, as: UTF8.self)
            == "0 7 10 99 100 11152 -42 \(Int.max) \(Int.min) ")
    }
}
