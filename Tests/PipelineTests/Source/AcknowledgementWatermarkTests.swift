import Foundation
import NIOCore
import PipelineConfig
import Support
import Testing

@testable import Pipeline

@Suite struct AcknowledgementWatermarkTests {
    /// A re-send from the checkpoint while old dispatches may still report back: the old sequence numbers are
    /// not reused, so a late acknowledgement of an old dispatch moves nothing.
    @Test func aRestartFromTheCheckpointIgnoresLateAcknowledgementsOfOldDispatches() {
        let progress = TableProgress(checkpoint: 10)
        let old1 = progress.dispatch(key: 11)
        let old2 = progress.dispatch(key: 12)
        #expect(progress.delivered(old1, error: nil))
        #expect(progress.checkpoint == 11)
        progress.restartFromCheckpoint()
        #expect(progress.lastDispatched == 11)
        let new1 = progress.dispatch(key: 12)
        let new2 = progress.dispatch(key: 13)
        #expect(new1 != old2 && new2 != old2)
        // The old dispatch of key 12 reports late: it must not count for the new dispatch of 12 (or 13).
        #expect(!progress.delivered(old2, error: nil))
        #expect(progress.checkpoint == 11)
        #expect(progress.pending == 2)
        #expect(progress.delivered(new1, error: nil))
        #expect(progress.delivered(new2, error: nil))
        #expect(progress.checkpoint == 13)
    }

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
