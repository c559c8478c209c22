import AsyncAlgorithms
import Foundation
import Gzip
import Kafka
import Logging
import NIOCore
import PipelineConfig
import Synchronization
import Systemd
import Testing

@testable import Pipeline

/// An in-memory bucket that can fail on demand.
final class MemoryStore: SinkObjectStore, Sendable {
    struct Failure: Error, RetriableError {
        var isRetriable: Bool
    }

    let objects = Mutex<[String: (body: [UInt8], metadata: [String: String])]>([:])
    let log = Mutex<[String]>([])
    let failuresLeft = Mutex<Int>(0)
    let failRetriable = Mutex<Bool>(true)
    /// Called before each put; a test can hold an upload here.
    let beforePut: @Sendable (String) async -> Void

    init(beforePut: @escaping @Sendable (String) async -> Void = { _ in }) {
        self.beforePut = beforePut
    }

    func put(key: String, body: ByteBuffer, contentEncoding: String?, metadata: [String: String]) async throws {
        await beforePut(key)
        let fail = failuresLeft.withLock { left -> Bool in
            guard left > 0 else { return false }
            left -= 1
            return true
        }
        if fail { throw Failure(isRetriable: failRetriable.withLock { $0 }) }
        objects.withLock { $0[key] = (Array(body.readableBytesView), metadata) }
        log.withLock { $0.append("put \(key)") }
    }
}

final class MemoryCommitter: SinkOffsetCommitter, Sendable {
    let committed = Mutex<[KafkaTopicPartition: Int64]>([:])
    let store: MemoryStore

    init(store: MemoryStore) { self.store = store }

    func commit(_ partition: KafkaTopicPartition, offset: Int64) async throws {
        committed.withLock { $0[partition] = offset }
        store.log.withLock { $0.append("commit \(partition.topic)[\(partition.partition)]@\(offset)") }
    }

    func committed(_ partition: KafkaTopicPartition) async throws -> Int64? {
        committed.withLock { $0[partition] }
    }
}

final class MemoryDeadLetters: DeadLetterWriter, Sendable {
    let records = Mutex<[(Int64, String)]>([])
    /// One entry per write: the batch's start offset and how many letters it carried.
    let writes = Mutex<[(Int64, Int)]>([])

    func write(_ batch: DeadLetterBatch) async throws {
        records.withLock { $0 += batch.letters.map { ($0.offset, $0.reason) } }
        writes.withLock { $0.append((batch.startOffset, batch.letters.count)) }
    }
}

@Suite struct S3SinkTests {
    func message(_ partition: Int32, _ offset: Int64, _ text: String) -> KafkaMessage {
        KafkaMessage(topic: "p.pin", partition: partition, offset: offset, key: nil, value: Array(text.utf8),
                     timestamp: 1_598_586_767_000, headers: [])
    }

    func makeSink(_ store: MemoryStore, _ committer: MemoryCommitter, _ dead: MemoryDeadLetters,
                  limits: BatchLimits, configure: (inout S3SinkSettings) -> Void = { _ in }) -> S3Sink {
        var settings = S3SinkSettings()
        settings.bucket = "b"
        settings.batch = limits
        configure(&settings)
        return S3Sink(settings: settings, objectStore: store, committer: committer, deadLetter: dead,
                      context: ActorContext(logger: Logger(label: "test")))
    }

    @Test func malformedRecordsGoToOneDeadLetterObjectPerBatchBeforeTheData() async throws {
        let store = MemoryStore()
        let committer = MemoryCommitter(store: store)
        let dead = MemoryDeadLetters()
        let sink = makeSink(store, committer, dead, limits: BatchLimits(maxRecords: 500, maxBytes: 1 << 20, maxAge: .seconds(60)))
        // 2,000 records, every other one malformed in a different way: 1,000 dead letters.
        let kinds = ["not json", "{\"truncated\":", "", "[1,2]", "\u{0}\u{1}", "{\"a\":1}{\"b\":2}"]
        let messages = (0..<2_000).map { index in
            index % 2 == 0 ? message(0, Int64(index), "{\"n\":\(index)}") : message(0, Int64(index), kinds[index % kinds.count])
        }
        try await sink.run(input: [SinkInput(messages: messages, epoch: 0)].async)
        #expect(dead.records.withLock { $0.count } == 1_000)
        let expectedOffsets: Set<Int64> = Set(stride(from: Int64(1), to: 2_000, by: 2))
        let deadOffsets: Set<Int64> = Set(dead.records.withLock { $0.map(\.0) })
        #expect(deadOffsets == expectedOffsets)
        // One write per batch of 500 offsets, keyed by the batch's start offset: not one per bad record.
        #expect(dead.writes.withLock { $0.map(\.0) } == [0, 500, 1_000, 1_500])
        #expect(dead.writes.withLock { $0.map(\.1) } == [250, 250, 250, 250])
        let data = store.objects.withLock { $0 }
        #expect(data.count == 4)
        #expect(data.values.allSatisfy { $0.metadata["record-count"] == "250" && $0.metadata["dead-letter-count"] == "250" })
        #expect(committer.committed.withLock { $0 } == [KafkaTopicPartition(topic: "p.pin", partition: 0): 2_000])
    }

    @Test func deadLetterLinesKeepAnyBytesAndTheReason() throws {
        let partition = KafkaTopicPartition(topic: "p.pin", partition: 3)
        let binary = DeadLetter(offset: 7, key: Array("7".utf8), value: [0xff, 0xfe, 0x00], timestamp: 1_000, reason: "not UTF-8")
        let line = DeadLetterRecord.jsonLine(binary, partition: partition)
        #expect(line.last == UInt8(ascii: "\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.dropLast())) as? [String: Any])
        #expect(object["offset"] as? Int == 7 && object["partition"] as? Int == 3 && object["topic"] as? String == "p.pin")
        #expect(object["reason"] as? String == "not UTF-8" && object["key"] as? String == "7")
        #expect(object["value"] is NSNull)
        #expect(Data(base64Encoded: object["value_base64"] as? String ?? "") == Data([0xff, 0xfe, 0x00]))
    }

    @Test func batchesPerPartitionCommitAfterStoreAndDrainAtTheEnd() async throws {
        let store = MemoryStore()
        let committer = MemoryCommitter(store: store)
        let dead = MemoryDeadLetters()
        let sink = makeSink(store, committer, dead, limits: BatchLimits(maxRecords: 3, maxBytes: 1 << 20, maxAge: .seconds(60)))
        let inputs = [
            SinkInput(messages: (0..<4).map { message(0, $0, "{\"n\":\($0)}") } + [message(1, 0, "{\"m\":0}")], epoch: 0),
            SinkInput(messages: [message(0, 4, "not json"), message(0, 5, "{\"n\":5}")], epoch: 0),
        ]
        try await sink.run(input: inputs.async)
        let objects = store.objects.withLock { $0 }
        #expect(Set(objects.keys) == [
            "topics/p.pin/partition=0/p.pin+0+0000000000.json",
            "topics/p.pin/partition=0/p.pin+0+0000000003.json",
            "topics/p.pin/partition=1/p.pin+1+0000000000.json",
        ])
        let first = objects["topics/p.pin/partition=0/p.pin+0+0000000000.json"]!
        #expect(String(decoding: first.body, as: UTF8.self) == "{\"n\":0}\n{\"n\":1}\n{\"n\":2}\n")
        #expect(first.metadata["first-offset"] == "0" && first.metadata["last-offset"] == "2"
                && first.metadata["record-count"] == "3")
        let second = objects["topics/p.pin/partition=0/p.pin+0+0000000003.json"]!
        #expect(String(decoding: second.body, as: UTF8.self) == "{\"n\":3}\n{\"n\":5}\n")
        #expect(second.metadata["last-offset"] == "5" && second.metadata["dead-letter-count"] == "1")
        #expect(dead.records.withLock { $0.map(\.0) } == [4])
        #expect(committer.committed.withLock { $0 } == [
            KafkaTopicPartition(topic: "p.pin", partition: 0): 6, KafkaTopicPartition(topic: "p.pin", partition: 1): 1,
        ])
        // Every commit comes after the put of its object.
        let log = store.log.withLock { $0 }
        let putIndex = try #require(log.firstIndex(of: "put topics/p.pin/partition=0/p.pin+0+0000000000.json"))
        let commitIndex = try #require(log.firstIndex(of: "commit p.pin[0]@3"))
        #expect(putIndex < commitIndex)
    }

    @Test func gzipAndTimePathExtensions() async throws {
        let store = MemoryStore()
        let sink = makeSink(store, MemoryCommitter(store: store), MemoryDeadLetters(),
                            limits: BatchLimits(maxRecords: 10, maxBytes: 1 << 20, maxAge: .seconds(60))) {
            $0.gzip = true
            $0.timePartitioning = "year=YYYY/month=MM/day=dd/hour=HH"
        }
        try await sink.run(input: [SinkInput(messages: [message(0, 0, "{\"a\":1}"), message(0, 1, "{\"a\":2}")], epoch: 0)].async)
        let objects = store.objects.withLock { $0 }
        // The record timestamp 1_598_586_767_000 ms is 2020-08-28T03:52:47Z.
        let key = "topics/p.pin/partition=0/year=2020/month=08/day=28/hour=03/p.pin+0+0000000000.json.gz"
        let object = try #require(objects[key], "keys: \(objects.keys)")
        #expect(object.body.starts(with: [0x1f, 0x8b]))
        let plain = try #require(GzipEncoder.decompress(object.body))
        #expect(String(decoding: plain, as: UTF8.self) == "{\"a\":1}\n{\"a\":2}\n")
    }

    @Test func retriesAnOutageWithoutLoss() async throws {
        let store = MemoryStore()
        store.failuresLeft.withLock { $0 = 2 }
        let committer = MemoryCommitter(store: store)
        let sink = makeSink(store, committer, MemoryDeadLetters(),
                            limits: BatchLimits(maxRecords: 2, maxBytes: 1 << 20, maxAge: .seconds(60)))
        try await sink.run(input: [SinkInput(messages: (0..<4).map { message(0, $0, "{}") }, epoch: 0)].async)
        #expect(store.objects.withLock { $0.count } == 2)
        #expect(committer.committed.withLock { $0[KafkaTopicPartition(topic: "p.pin", partition: 0)] } == 4)
    }

    @Test func aPermanentFailureStopsTheSinkWithTheError() async throws {
        let store = MemoryStore()
        store.failuresLeft.withLock { $0 = 1 }
        store.failRetriable.withLock { $0 = false }
        let sink = makeSink(store, MemoryCommitter(store: store), MemoryDeadLetters(),
                            limits: BatchLimits(maxRecords: 1, maxBytes: 1 << 20, maxAge: .seconds(60)))
        await #expect(throws: MemoryStore.Failure.self) {
            try await sink.run(input: [SinkInput(messages: [message(0, 0, "{}")], epoch: 0)].async)
        }
    }

    @Test func revokedPartitionsDropStaleRecordsAndUnstoredBatches() async throws {
        let store = MemoryStore()
        let committer = MemoryCommitter(store: store)
        let sink = makeSink(store, committer, MemoryDeadLetters(), limits: BatchLimits())
        let partition = KafkaTopicPartition(topic: "p.pin", partition: 0)
        let (channel, elements) = BoundedChannel<SinkInput>.make(low: 1, high: 100, weight: { _ in 1 })
        let running = Task { try await sink.run(input: elements) }
        channel.trySend(SinkInput(messages: [message(0, 0, "{}"), message(0, 1, "{}")], epoch: 0))
        let revocation = SinkRevocation(KafkaRevocation(partitions: [partition], lost: false))
        channel.trySend(SinkInput(records: KafkaRecordBatch(), epoch: 1, revocation: revocation))
        let deadline = ContinuousClock.now + .seconds(10)
        while !revocation.isSettled, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(revocation.isSettled, "nothing was uploading: the revocation settles at once")
        // A record of the old epoch arriving after the revocation is stale: dropped. After re-assignment the
        // group re-delivers from the committed offset.
        channel.trySend(SinkInput(messages: [message(0, 2, "{}")], epoch: 0))
        channel.trySend(SinkInput(messages: [message(0, 0, "{\"again\":0}"), message(0, 1, "{}")], epoch: 1))
        channel.finish()
        try await running.value
        let objects = store.objects.withLock { $0 }
        #expect(objects.keys.sorted() == ["topics/p.pin/partition=0/p.pin+0+0000000000.json"])
        #expect(String(decoding: objects.values.first!.body, as: UTF8.self) == "{\"again\":0}\n{}\n")
        #expect(committer.committed.withLock { $0[partition] } == 2)
    }

    @Test func ageRollsAnIdlePartitionOnTime() async throws {
        let store = MemoryStore()
        let sink = makeSink(store, MemoryCommitter(store: store), MemoryDeadLetters(),
                            limits: BatchLimits(maxRecords: 1000, maxBytes: 1 << 20, maxAge: .milliseconds(300)))
        let (channel, elements) = BoundedChannel<SinkInput>.make(low: 1, high: 100, weight: { _ in 1 })
        let running = Task { try await sink.run(input: elements) }
        channel.trySend(SinkInput(messages: [message(0, 0, "{}")], epoch: 0))
        // No more records and the input stays open: only the age timer can roll the batch.
        let deadline = ContinuousClock.now + .seconds(20)
        while store.objects.withLock({ $0.isEmpty }), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(store.objects.withLock { $0.count } == 1, "the idle batch must flush by age without new records")
        channel.finish()
        try await running.value
    }

    @Test func aBlockedPartitionDoesNotStallTheOthers() async throws {
        let gate = AsyncCondition()
        let store = MemoryStore { key in
            if key.contains("partition=0/") { await gate.wait() }
        }
        let committer = MemoryCommitter(store: store)
        let sink = makeSink(store, committer, MemoryDeadLetters(),
                            limits: BatchLimits(maxRecords: 2, maxBytes: 1 << 20, maxAge: .seconds(60)))
        let (channel, elements) = BoundedChannel<SinkInput>.make(low: 1, high: 1000, weight: { _ in 1 })
        let running = Task { try await sink.run(input: elements) }
        // Partition 0's first upload hangs; its later batches queue while partition 1 keeps storing.
        for round in Int64(0)..<10 {
            channel.trySend(SinkInput(messages: [message(0, 2 * round, "{}"), message(0, 2 * round + 1, "{}"),
                                                 message(1, 2 * round, "{}"), message(1, 2 * round + 1, "{}")],
                                      epoch: 0))
        }
        let partition1 = KafkaTopicPartition(topic: "p.pin", partition: 1)
        let deadline = ContinuousClock.now + .seconds(20)
        while committer.committed.withLock({ $0[partition1] }) != 20, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(committer.committed.withLock { $0[partition1] } == 20)
        #expect(committer.committed.withLock { $0[KafkaTopicPartition(topic: "p.pin", partition: 0)] } == nil)
        gate.set()
        channel.finish()
        try await running.value
        #expect(committer.committed.withLock { $0[KafkaTopicPartition(topic: "p.pin", partition: 0)] } == 20)
        // One object per batch, each stored once, and partition 0's in offset order.
        let puts = store.log.withLock { $0.filter { $0.hasPrefix("put topics/p.pin/partition=0/") } }
        #expect(puts == (0..<10).map { "put topics/p.pin/partition=0/p.pin+0+\(String(format: "%010d", 2 * $0)).json" })
    }

    @Test func aStoredBodyIsTheNextBatchsStorageAndItsBytesStayIntact() async throws {
        // The store copies the body and keeps no reference, as the S3 client does once a PUT returned: the next
        // batch of the partition then writes into the same storage (no fresh pages), and every object still
        // holds exactly its own records, although the storage was overwritten afterwards.
        let store = MemoryStore { _ in try? await Task.sleep(for: .milliseconds(1)) }
        let committer = MemoryCommitter(store: store)
        let sink = makeSink(store, committer, MemoryDeadLetters(),
                            limits: BatchLimits(maxRecords: 10, maxBytes: 1 << 20, maxAge: .seconds(60)))
        let inputs = (Int64(0)..<20).map { round in
            SinkInput(messages: (0..<10).map { message(0, 10 * round + Int64($0), "{\"n\":\(10 * round + Int64($0))}") },
                      epoch: 0)
        }
        let partition = KafkaTopicPartition(topic: "p.pin", partition: 0)
        try await sink.run(input: AsyncStream { continuation in
            Task {
                for (round, input) in inputs.enumerated() {
                    continuation.yield(input)
                    // The batch is stored and committed before the next one opens, whatever the machine's load;
                    // the next input follows at once (an idle partition lets its spare go at the next tick).
                    let deadline = ContinuousClock.now + .seconds(10)
                    while committer.committed.withLock({ $0[partition] ?? 0 }) < Int64(10 * (round + 1)),
                          ContinuousClock.now < deadline {
                        try? await Task.sleep(for: .milliseconds(1))
                    }
                }
                continuation.finish()
            }
        })
        // 19 batches could have used the body of the one before; a loaded machine misses some (a tick between
        // two inputs, or the next input ahead of the writer taking the body back). Without reuse this is 0.
        #expect(sink.bodiesReused >= 5)
        let objects = store.objects.withLock { $0 }
        #expect(objects.count == 20)
        for round in 0..<20 {
            let key = "topics/p.pin/partition=0/p.pin+0+\(String(format: "%010d", 10 * round)).json"
            let expected = (0..<10).map { "{\"n\":\(10 * round + $0)}\n" }.joined()
            #expect(objects[key].map { String(decoding: $0.body, as: UTF8.self) } == expected, "\(key)")
        }
        #expect(committer.committed.withLock { $0.values.sorted() } == [200])
    }

    @Test func aBodyStillReferencedElsewhereIsNotReused() {
        var batcher = PartitionBatcher(limits: BatchLimits(maxRecords: 2, maxBytes: 1 << 20, maxAge: .seconds(60)))
        _ = batcher.append(offset: 0, value: Array("{\"a\":1}".utf8), now: .init(offset: .zero))
        let sealed = batcher.append(offset: 1, value: Array("{\"a\":2}".utf8), now: .init(offset: .zero))
        guard case .upload(let batch)? = sealed.first else {
            Issue.record("expected an upload")
            return
        }
        // `batch` still holds the body (an uploader that did not let go): clearing it would allocate afresh.
        #expect(batcher.uploadFinished(keepingBody: true).released == 16)
        #expect(batcher.spare == nil && batcher.spareBytes == 0)
        #expect(String(decoding: batch.body.readableBytesView, as: UTF8.self) == "{\"a\":1}\n{\"a\":2}\n")
    }

    @Test func theMemoryLimitBoundsWhatBatchesHold() async throws {
        let store = MemoryStore { _ in try? await Task.sleep(for: .milliseconds(2)) }
        let committer = MemoryCommitter(store: store)
        let sink = makeSink(store, committer, MemoryDeadLetters(),
                            limits: BatchLimits(maxRecords: 1000, maxBytes: 1 << 20, maxAge: .seconds(60))) {
            $0.memoryLimit = 400
        }
        let value = "{\"v\":\"0123456789\"}"  // 19 bytes + newline
        let inputs = (Int64(0)..<50).map { round in
            SinkInput(messages: (0..<4).map { message(Int32($0 % 2), 2 * round + Int64($0 / 2), value) }, epoch: 0)
        }
        try await sink.run(input: inputs.async)
        // Nothing lost and nothing doubled, although no batch ever reached its 1,000 records.
        let bodies = store.objects.withLock { $0.values.map { String(decoding: $0.body, as: UTF8.self) } }
        #expect(bodies.joined().split(separator: "\n").count == 200)
        #expect(bodies.count > 2)
        #expect(committer.committed.withLock { $0.values.sorted() } == [100, 100])
        // Over the limit the sink takes no new input: the peak stays within one input (4 records) above it.
        #expect(sink.memoryPeak <= 400 + 4 * 20)
        #expect(sink.memoryPeak > 200)
    }
}
