import Testing

@testable import Kafka

/// A finished batch's byte buffer goes back to a bounded pool and serves a later poll; a copy of the batch kept
/// elsewhere never sees the reuse.
@Suite struct KafkaRecordBufferPoolTests {
    static func batch(_ values: [String], reserving bytes: Int, pool: KafkaRecordBufferPool) -> KafkaRecordBatch {
        var batch = KafkaRecordBatch()
        batch.reserveCapacity(records: values.count, bytes: bytes, pool: pool)
        for (offset, value) in values.enumerated() {
            Array(value.utf8).withUnsafeBytes { value in
                batch.append(topic: "t", partition: 0, offset: Int64(offset), key: nil, value: value, timestamp: -1,
                             headers: [])
            }
        }
        return batch
    }

    static func values(of batch: KafkaRecordBatch) -> [String] {
        (0..<batch.count).map { index in batch.withValue(at: index) { String(decoding: $0, as: UTF8.self) } }
    }

    @Test func aRecycledBufferServesTheNextPoll() {
        let pool = KafkaRecordBufferPool()
        var first = Self.batch(["a", "b", "c"], reserving: 100_000, pool: pool)
        #expect(pool.count == 0)
        first.recycle(to: pool)
        #expect(first.isEmpty && first.byteCount == 0)
        #expect(pool.count == 1)
        let second = Self.batch(["d"], reserving: 50_000, pool: pool)
        #expect(pool.count == 0, "the kept buffer was taken")
        #expect(second.byteCapacity >= 100_000, "it is the recycled one, not a fresh one of 50,000 bytes")
        #expect(Self.values(of: second) == ["d"], "nothing of the old records shows")
    }

    @Test func aCopyKeptElsewhereStaysIntact() {
        let pool = KafkaRecordBufferPool()
        var original = Self.batch(["first", "second"], reserving: 10_000, pool: pool)
        let kept = original
        original.recycle(to: pool)
        let reuse = Self.batch(["XXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", "YYYYYYYYYYYY"], reserving: 10_000, pool: pool)
        #expect(Self.values(of: reuse) == ["XXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", "YYYYYYYYYYYY"])
        #expect(Self.values(of: kept) == ["first", "second"])
    }

    @Test func thePoolIsBounded() {
        let pool = KafkaRecordBufferPool(maxBuffers: 2, maxBufferBytes: 4_096)
        for _ in 0..<3 {
            var batch = Self.batch(["x"], reserving: 1_000, pool: KafkaRecordBufferPool())
            batch.recycle(to: pool)
        }
        #expect(pool.count == 2)
        let roomy = KafkaRecordBufferPool(maxBuffers: 4, maxBufferBytes: 4_096)
        var large = Self.batch(["x"], reserving: 10_000, pool: roomy)
        large.recycle(to: roomy)
        #expect(roomy.count == 0, "a buffer above maxBufferBytes is freed, not kept")
    }

    @Test func aKeptBufferTooSmallIsLeftForLater() {
        let pool = KafkaRecordBufferPool()
        var small = Self.batch(["x"], reserving: 1_000, pool: pool)
        small.recycle(to: pool)
        let big = Self.batch(["y"], reserving: 100_000, pool: pool)
        #expect(big.byteCapacity >= 100_000)
        #expect(pool.count == 1, "the small buffer stays in the pool")
    }
}

extension KafkaRecordBufferPoolTests {
    /// A full pool of small buffers makes room for a larger one, and a take gets the smallest that fits.
    @Test func largerBuffersDisplaceSmallerOnesAndTakesFitBest() {
        let pool = KafkaRecordBufferPool(maxBuffers: 2, maxBufferBytes: 1 << 20)
        for bytes in [1_000, 2_000] {
            var batch = Self.batch(["x"], reserving: bytes, pool: KafkaRecordBufferPool())
            batch.recycle(to: pool)
        }
        var big = Self.batch(["x"], reserving: 100_000, pool: KafkaRecordBufferPool())
        big.recycle(to: pool)
        #expect(pool.count == 2)
        let large = Self.batch(["y"], reserving: 50_000, pool: pool)
        #expect(large.byteCapacity >= 100_000, "the big buffer replaced the smallest and serves a large poll")
        #expect(pool.count == 1)
        let small = Self.batch(["z"], reserving: 500, pool: pool)
        #expect(small.byteCapacity >= 2_000 && small.byteCapacity < 100_000, "the 2,000-byte one was kept")
        #expect(pool.count == 0)
    }
}
