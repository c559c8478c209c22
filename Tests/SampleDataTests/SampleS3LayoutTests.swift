import Foundation
import Testing

@testable import SampleData

@Suite struct SampleS3LayoutTests {
    @Test func objectKeysFollowTheSinkLayout() {
        let layout = SampleS3Layout(topicPrefix: "0ab336d6fcf7")
        #expect(layout.objectKey(.pin, startOffset: 0)
            == "topics/0ab336d6fcf7.pin/partition=0/0ab336d6fcf7.pin+0+0000000000.json")
        #expect(layout.objectKey(.user, startOffset: 10_000)
            == "topics/0ab336d6fcf7.user/partition=0/0ab336d6fcf7.user+0+0000010000.json")
        #expect(layout.objectKeys(.geo, rows: 11_153).count == 2)
        #expect(layout.objectKeys(.geo, rows: 10_000).count == 1)
        #expect(layout.objectKeys(.geo, rows: 0).isEmpty)
    }

    @Test func writesEveryRecordOnceInOffsetOrder() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sampledata-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let generator = SampleDataGenerator(seed: 3, rows: 250)
        let layout = SampleS3Layout(topicPrefix: "abc", recordsPerObject: 100)
        let keys = try layout.write(generator, to: dir)
        #expect(keys.count == 9)
        for table in SampleTable.allCases {
            var seen: [Int] = []
            for key in layout.objectKeys(table, rows: 250) {
                let text = try String(contentsOf: dir.appendingPathComponent(key), encoding: .utf8)
                #expect(text.hasSuffix("\n"))
                for line in text.split(separator: "\n") {
                    let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                    seen.append(try #require(object[table.keyColumn] as? Int))
                }
            }
            #expect(seen == Array(0..<250))
        }
        let first = try String(contentsOf: dir.appendingPathComponent(layout.objectKey(.geo, startOffset: 200)), encoding: .utf8)
        #expect(first.split(separator: "\n").first.map(String.init) == generator.geo(at: 200).jsonText)
    }
}
