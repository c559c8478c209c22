import Synchronization

/// Byte buffers of record batches the application has finished with, kept for the next polls.
///
/// A poll's buffer (thousands of records, hundreds of kilobytes) is above the allocator's mapping threshold, so a
/// new one is a fresh mapping whose pages the kernel faults in and zeroes one at a time: measured on the sink,
/// 6 % of its CPU went to that (issue 15). A buffer handed back with ``KafkaRecordBatch/recycle(to:)`` is reused
/// instead. The pool is small and bounded (`maxBuffers`, none above `maxBufferBytes`), so what it keeps is about
/// what the polls in flight hold anyway.
public final class KafkaRecordBufferPool: Sendable {
    /// The pool the consumer's polls take from.
    public static let shared = KafkaRecordBufferPool()

    public let maxBuffers: Int
    public let maxBufferBytes: Int
    private let buffers = Mutex<[[UInt8]]>([])

    public init(maxBuffers: Int = 4, maxBufferBytes: Int = 4 << 20) {
        self.maxBuffers = maxBuffers
        self.maxBufferBytes = maxBufferBytes
    }

    /// An empty buffer with room for at least `minimumCapacity` bytes: a kept one when one is big enough.
    func take(minimumCapacity: Int) -> [UInt8] {
        // The smallest that fits: polls differ in size (the first record's size sets the reservation), so the
        // larger buffers are kept for the larger polls.
        let kept = buffers.withLock { buffers -> [UInt8]? in
            var best: Int?
            for index in buffers.indices where buffers[index].capacity >= minimumCapacity {
                if best.map({ buffers[index].capacity < buffers[$0].capacity }) ?? true { best = index }
            }
            return best.map { buffers.remove(at: $0) }
        }
        if var kept {
            kept.removeAll(keepingCapacity: true)  // a buffer still shared with a copy is copied here, not reused
            return kept
        }
        var fresh: [UInt8] = []
        fresh.reserveCapacity(minimumCapacity)
        return fresh
    }

    /// Keeps `buffer` for a later take when there is room, or in place of a smaller kept one (so that a pool
    /// full of small buffers does not turn every larger poll away); otherwise it is freed.
    func give(_ buffer: [UInt8]) {
        guard buffer.capacity > 0, buffer.capacity <= maxBufferBytes else { return }
        let dropped = buffers.withLock { buffers -> [UInt8]? in
            if buffers.count < maxBuffers {
                buffers.append(buffer)
                return nil
            }
            guard let smallest = buffers.indices.min(by: { buffers[$0].capacity < buffers[$1].capacity }),
                  buffers[smallest].capacity < buffer.capacity else { return nil }
            defer { buffers[smallest] = buffer }
            return buffers[smallest]
        }
        _ = dropped  // freed here, outside the lock
    }

    /// How many buffers are kept.
    public var count: Int { buffers.withLock { $0.count } }
}
