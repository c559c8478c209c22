import Foundation
import NIOCore
import PipelineConfig
import Support
import Testing

@testable import Pipeline

@Suite struct AcknowledgementWatermarkTests {
    @Test func advancesOnlyOverContiguousAcknowledgements() {
        var watermark = AcknowledgementWatermark()
        let a = watermark.dispatch(key: 1)
        let b = watermark.dispatch(key: 2)
        let c = watermark.dispatch(key: 5)
        #expect(watermark.acknowledge(c) == false)
        #expect(watermark.checkpoint == nil)
        watermark.acknowledge(a)
        #expect(watermark.checkpoint == 1)
        watermark.acknowledge(b)
        #expect(watermark.checkpoint == 5)
        #expect(watermark.pending == 0)
    }

    @Test func resumesFromASavedCheckpointAndStaysBounded() {
        var watermark = AcknowledgementWatermark(checkpoint: 100)
        var sequences: [Int] = []
        for key in 101...20_000 { sequences.append(watermark.dispatch(key: Int64(key))) }
        for sequence in sequences.reversed() where sequence != sequences[0] { watermark.acknowledge(sequence) }
        #expect(watermark.checkpoint == 100)
        watermark.acknowledge(sequences[0])
        #expect(watermark.checkpoint == 20_000)
        #expect(watermark.pending == 0)
    }
}
