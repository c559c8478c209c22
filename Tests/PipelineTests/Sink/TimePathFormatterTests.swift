import Foundation
import NIOCore
import PipelineConfig
import Support
import Testing

@testable import Pipeline

@Suite struct TimePathFormatterTests {
    @Test func formatsUTC() throws {
        let formatter = try #require(TimePathFormatter(pattern: "year=YYYY/month=MM/day=dd/hour=HH"))
        // 2020-08-28T03:52:47Z
        #expect(formatter.format(millisecondsSinceEpoch: 1_598_586_767_000) == "year=2020/month=08/day=28/hour=03")
        #expect(formatter.format(millisecondsSinceEpoch: 0) == "year=1970/month=01/day=01/hour=00")
        #expect(TimePathFormatter(pattern: "no tokens") == nil)
    }
}
