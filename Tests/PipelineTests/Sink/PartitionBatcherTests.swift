import Foundation
import NIOCore
import PipelineConfig
import Support
import Testing

@testable import Pipeline

@Suite struct PartitionBatcherTests {
    let start = PipelineClock.Instant(offset: .zero)

    func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func rollsOnRecordCountAndKeepsOneUncommittedObject() {
        var batcher = PartitionBatcher(limits: BatchLimits(maxRecords: 2, maxBytes: 1 << 20, maxAge: .seconds(60)))
        #expect(batcher.append(offset: 10, value: bytes("{\"a\":1}"), now: start).isEmpty)
        let first = batcher.append(offset: 11, value: bytes("{\"a\":2}"), now: start)
        #expect(first == [.upload(SealedBatch(startOffset: 10, lastOffset: 11, recordCount: 2, deadLetters: [],
                                               body: ByteBuffer(bytes: bytes("{\"a\":1}\n{\"a\":2}\n")), timePath: nil,
                                               reason: .records))])
        // Two more batches fill while the first is in flight: they queue, in order, and nothing else uploads.
        for offset in Int64(12)...15 {
            #expect(batcher.append(offset: offset, value: bytes("{}"), now: start).isEmpty)
        }
        #expect(batcher.queued.map(\.startOffset) == [12, 14])
        #expect(batcher.sealedBytes == 16 + 6 + 6)
        let finished = batcher.uploadFinished()
        #expect(finished.released == 16)
        guard case .upload(let second)? = finished.actions.first else {
            Issue.record("expected the queued batch to start")
            return
        }
        #expect(second.startOffset == 12 && second.lastOffset == 13)
        #expect(batcher.uploadFinished().actions == [.upload(batcher.inFlight!)])
        #expect(batcher.inFlight?.startOffset == 14)
        #expect(batcher.uploadFinished() == (6, []))
        #expect(batcher.isIdle && batcher.sealedBytes == 0)
    }

    @Test func theStoredBodyBecomesTheSpareAndTheNextBatchWritesIntoIt() {
        var batcher = PartitionBatcher(limits: BatchLimits(maxRecords: 2, maxBytes: 1 << 20, maxAge: .seconds(60)))
        _ = batcher.append(offset: 0, value: bytes("{\"a\":1}"), now: start)
        _ = batcher.append(offset: 1, value: bytes("{}"), now: start)  // 11 bytes in a 16-byte storage
        let storage = batcher.inFlight?.body.withVeryUnsafeBytes { $0.baseAddress }
        // Not kept when the writer has no room for it.
        var refused = batcher
        #expect(refused.uploadFinished(keepingBody: false).released == 11)
        #expect(refused.spare == nil && refused.spareBytes == 0)
        refused = PartitionBatcher(limits: batcher.limits)
        #expect(batcher.uploadFinished(keepingBody: true).released == 11)
        #expect(batcher.spareBytes == 11 && batcher.spare?.readableBytes == 0 && batcher.sparesKept == 1)
        #expect(batcher.isIdle)
        _ = batcher.append(offset: 2, value: bytes("{}"), now: start)
        #expect(batcher.spare == nil && batcher.spareBytes == 0 && batcher.sparesReused == 1)
        #expect(batcher.open?.body.withVeryUnsafeBytes { $0.baseAddress } == storage)
        #expect(batcher.openBytes == 3)
        #expect(batcher.append(offset: 3, value: bytes("{}"), now: start).count == 1)
        #expect(batcher.uploadFinished(keepingBody: true).released == 6)
        #expect(batcher.spare == nil && batcher.spareBytes == 0)  // 6 bytes of a 16-byte storage: mostly unused
        // The spare's bytes count until it is dropped: by a revocation, by the sink or by an idle partition.
        for offset in Int64(4)...5 { _ = batcher.append(offset: offset, value: bytes("{\"b\":\"0123456789\"}"), now: start) }
        #expect(batcher.uploadFinished(keepingBody: true).released == 38)
        #expect(batcher.spareBytes == 38)
        #expect(batcher.abandon() == 38 && batcher.spareBytes == 0 && batcher.spare == nil)
        for offset in Int64(6)...7 { _ = batcher.append(offset: offset, value: bytes("{\"b\":\"0123456789\"}"), now: start) }
        #expect(batcher.uploadFinished(keepingBody: true).released == 38)
        #expect(batcher.spareBytes == 38)
        batcher.dropSpare()
        #expect(batcher.spareBytes == 0 && batcher.spare == nil)
        for offset in Int64(8)...9 { _ = batcher.append(offset: offset, value: bytes("{\"b\":\"0123456789\"}"), now: start) }
        #expect(batcher.uploadFinished(keepingBody: true).released == 38)
        #expect(batcher.tick(now: start).isEmpty && batcher.spareBytes == 0 && batcher.spare == nil)
    }

    @Test func memoryRollAndAbandonReportTheBytesHeld() {
        var batcher = PartitionBatcher(limits: BatchLimits(maxRecords: 100, maxBytes: 1 << 20, maxAge: .seconds(60)))
        _ = batcher.append(offset: 0, value: bytes("{\"a\":1}"), now: start)
        #expect(batcher.openBytes == 8)
        guard case .upload(let batch)? = batcher.sealForMemory().first else {
            Issue.record("expected a memory roll")
            return
        }
        #expect(batch.reason == .memory && batch.recordCount == 1)
        _ = batcher.append(offset: 1, value: bytes("{}"), now: start)
        #expect(batcher.sealForMemory().isEmpty)  // queued behind the in-flight one
        _ = batcher.append(offset: 2, value: bytes("{}"), now: start)
        #expect(batcher.openBytes == 3 && batcher.sealedBytes == 11)
        #expect(batcher.abandon() == 14)
        #expect(batcher.isIdle && batcher.openBytes == 0 && batcher.sealedBytes == 0)
    }

    @Test func rollsOnBytesBeforeExceedingTheLimit() {
        var batcher = PartitionBatcher(limits: BatchLimits(maxRecords: 100, maxBytes: 20, maxAge: .seconds(60)))
        #expect(batcher.append(offset: 0, value: bytes("{\"x\":\"123456\"}"), now: start).isEmpty)  // 14 + 1 bytes
        let actions = batcher.append(offset: 1, value: bytes("{\"y\":1}"), now: start)
        guard case .upload(let batch)? = actions.first else {
            Issue.record("expected a byte roll")
            return
        }
        #expect(batch.reason == .bytes && batch.startOffset == 0 && batch.lastOffset == 0 && batch.body.readableBytes == 15)
        #expect(batcher.open?.startOffset == 1)
    }

    @Test func rollsOnAgeThroughTheTimer() {
        var batcher = PartitionBatcher(limits: BatchLimits(maxRecords: 100, maxBytes: 1 << 20, maxAge: .seconds(5)))
        _ = batcher.append(offset: 7, value: bytes("{}"), now: start)
        #expect(batcher.tick(now: start + .seconds(4)).isEmpty)
        let actions = batcher.tick(now: start + .seconds(5))
        guard case .upload(let batch)? = actions.first else {
            Issue.record("expected an age roll")
            return
        }
        #expect(batch.reason == .age && batch.recordCount == 1)
    }

    @Test func anOffsetTakenAlreadyIsDroppedNotStoredTwice() {
        var batcher = PartitionBatcher(limits: BatchLimits(maxRecords: 3, maxBytes: 1 << 20, maxAge: .seconds(60)))
        _ = batcher.append(offset: 5, value: bytes("{}"), now: start)
        _ = batcher.append(offset: 6, value: bytes("{}"), now: start)
        _ = batcher.append(offset: 6, value: bytes("{}"), now: start)
        _ = batcher.append(offset: 4, value: bytes("{}"), now: start)
        let sealed = batcher.append(offset: 7, value: bytes("{}"), now: start)
        guard case .upload(let batch)? = sealed.first else {
            Issue.record("expected a roll at three records")
            return
        }
        #expect(batch.startOffset == 5 && batch.lastOffset == 7 && batch.recordCount == 3)
        #expect(batcher.repeatedOffsets == 2)
        // Across batches too.
        #expect(batcher.append(offset: 7, value: bytes("{}"), now: start).isEmpty && batcher.open == nil)
    }

    @Test func drainSealsTheOpenBatchAndDeadLettersStayInsideTheRange() {
        var batcher = PartitionBatcher(limits: BatchLimits())
        _ = batcher.append(offset: 0, value: bytes("{}"), now: start)
        _ = batcher.deadLetter(DeadLetter(offset: 1, key: nil, value: bytes("nope"), timestamp: -1, reason: "not JSON"),
                               now: start)
        _ = batcher.append(offset: 2, value: bytes("{}"), now: start)
        let actions = batcher.drain()
        guard case .upload(let batch)? = actions.first else {
            Issue.record("expected a drain roll")
            return
        }
        #expect(batch.startOffset == 0 && batch.lastOffset == 2 && batch.recordCount == 2 && batch.deadLetterCount == 1)
        #expect(batch.deadLetters.first?.value == bytes("nope"))
        #expect(batch.heldBytes > batch.body.readableBytes, "dead letters count against the memory budget")
    }

    @Test func timePathChangeRolls() {
        var batcher = PartitionBatcher(limits: BatchLimits())
        _ = batcher.append(offset: 0, value: bytes("{}"), timePath: "hour=01", now: start)
        let actions = batcher.append(offset: 1, value: bytes("{}"), timePath: "hour=02", now: start)
        #expect(actions.count == 1)
        #expect(batcher.open?.timePath == "hour=02")
    }
}
