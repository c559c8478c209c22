import Foundation
import NIOCore
import PipelineConfig
import Support
import Testing

@testable import Pipeline

@Suite struct JSONValidatorTests {
    @Test(arguments: [
        "{}", "{\"a\":[1,2.5e-3,-0,true,false,null,\"x\\n\\u00e9\"]}", " {\"nested\":{\"k\":\"caf\u{e9} \u{1F600}\"}} ",
    ])
    func acceptsValidObjects(_ text: String) {
        #expect(JSONValidator.problem(in: Array(text.utf8)) == nil)
    }

    @Test(arguments: [
        "", "not json", "{\"a\":1", "{\"a\":01}", "{\"a\":\"tab\there\"}", "{a:1}", "[1,2]", "42", "{\"a\":1} x",
        "{\"a\":NaN}", "{\"a\":\"\\x\"}",
    ])
    func rejectsEverythingElse(_ text: String) {
        #expect(JSONValidator.problem(in: Array(text.utf8)) != nil)
    }

    @Test func rejectsInvalidUTF8() {
        #expect(JSONValidator.problem(in: [0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xC3, 0x28, 0x22, 0x7D]) != nil)
        // Well-formed lead and continuation bytes that still are not UTF-8 (the chaos suite's malformed records
        // reached S3 this way): an overlong "/", a surrogate, a code point above U+10FFFF, an overlong 4-byte form.
        for bad: [UInt8] in [[0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xF0, 0x8F, 0xBF, 0xBF]] {
            let record = Array("{\"v\":\"".utf8) + bad + Array("\"}".utf8)
            #expect(JSONValidator.problem(in: record)?.contains("invalid UTF-8") == true, "\(bad) accepted")
            #expect(String(validating: record, as: UTF8.self) == nil, "the standard library calls \(bad) valid")
        }
        // The edges of the valid ranges stay valid.
        for good: [UInt8] in [[0xE0, 0xA0, 0x80], [0xED, 0x9F, 0xBF], [0xEE, 0x80, 0x80], [0xF0, 0x90, 0x80, 0x80],
                              [0xF4, 0x8F, 0xBF, 0xBF]] {
            #expect(JSONValidator.problem(in: Array("{\"v\":\"".utf8) + good + Array("\"}".utf8)) == nil, "\(good) refused")
        }
    }

    /// The word-at-a-time string scan must find a special byte at every position of every word: strings of
    /// plain runs of every length with one piece (valid or not) in between, judged against Foundation's parser.
    @Test func agreesWithFoundationAtEveryPosition() throws {
        let pieces: [[UInt8]] = [
            Array("\\\"".utf8), Array("\\\\".utf8), Array("\\u00e9".utf8), Array("caf\u{e9}".utf8),
            Array("\u{1F600}".utf8), [0x22], [0x01], [0x1F], [0x7F], [0xFF], [0xC3, 0x28], Array("\\q".utf8),
            // A special byte followed by one a borrow could flag too (only the first flag of a word is exact).
            [0x1F, 0x20], [0x22, 0x23], Array("\\\"#".utf8), Array("\\\\]".utf8), [0x7F, 0x80],
        ]
        for piece in pieces {
            for before in 0..<17 {
                for after in [0, 1, 7, 8, 9] {
                    var body = Array("{\"k\":\"".utf8)
                    body += Array(repeating: UInt8(ascii: "a"), count: before) + piece
                    body += Array(repeating: UInt8(ascii: "b"), count: after) + Array("\"}".utf8)
                    let foundation = (try? JSONSerialization.jsonObject(with: Data(body))) != nil
                    let ours = JSONValidator.problem(in: body) == nil
                    #expect(ours == foundation, "\(String(decoding: body, as: UTF8.self).debugDescription)")
                }
            }
        }
    }
}
