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

@Suite struct EmulatorRandomTests {
    /// CPython: random.seed(100); [(randrange(0, 2), randint(0, 11000)) for _ in range(10)]
    @Test func reproducesTheOriginalEmulatorSequence() {
        var random = EmulatorRandom(seed: 100)
        let events = (0..<10).map { _ in random.nextEvent(maxKey: 11_000) }
        #expect(events.map(\.offset) == [7528, 2863, 5730, 8304, 8731, 1313, 4315, 10794, 5494, 5069])
        #expect(events.map(\.sleepSeconds) == [0, 1, 1, 1, 0, 0, 1, 0, 0, 0])
    }
}

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

@Suite struct TimePathFormatterTests {
    @Test func formatsUTC() throws {
        let formatter = try #require(TimePathFormatter(pattern: "year=YYYY/month=MM/day=dd/hour=HH"))
        // 2020-08-28T03:52:47Z
        #expect(formatter.format(millisecondsSinceEpoch: 1_598_586_767_000) == "year=2020/month=08/day=28/hour=03")
        #expect(formatter.format(millisecondsSinceEpoch: 0) == "year=1970/month=01/day=01/hour=00")
        #expect(TimePathFormatter(pattern: "no tokens") == nil)
    }
}
