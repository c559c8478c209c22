import Foundation
import NIOCore
import PipelineConfig
import Support
import Testing

@testable import Pipeline

@Suite struct ObjectKeyTests {
    @Test func confluentLayout() {
        let key = ObjectKey(topic: "0ab336d6fcf7.pin", partition: 0, startOffset: 0)
        #expect(key.key(prefix: "topics") == "topics/0ab336d6fcf7.pin/partition=0/0ab336d6fcf7.pin+0+0000000000.json")
        #expect(ObjectKey(topic: "t", partition: 2, startOffset: 12_345).key(prefix: "p", timePath: "year=2020", gzip: true)
            == "p/t/partition=2/year=2020/t+2+0000012345.json.gz")
        #expect(ObjectKey.parse("topics/a.pin/partition=1/a.pin+1+0000000042.json")
            == ObjectKey(topic: "a.pin", partition: 1, startOffset: 42))
        #expect(ObjectKey.parse("topics/a.pin/partition=1/readme.txt") == nil)
    }
}
