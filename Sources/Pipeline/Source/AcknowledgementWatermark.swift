/// Tracks which dispatched keys Kafka acknowledged and where the checkpoint may move.
///
/// - Important: The checkpoint advances only over a contiguous run of acknowledged keys from the oldest
///   dispatch on: a key acknowledged out of order waits until everything dispatched before it is acknowledged too.
///   Memory is bounded by the producer's in-flight limit, because only unacknowledged dispatches are kept.
struct AcknowledgementWatermark: Sendable {
    private var keys: [Int64] = []
    private var acknowledged: [Bool] = []
    private var head = 0
    /// Sequence number of `keys[head]`.
    private var headSequence: Int = 0
    /// The highest key below which everything dispatched was acknowledged (nil: nothing yet).
    private(set) var checkpoint: Int64?

    /// - Parameter firstSequence: the sequence number of the first dispatch. A watermark that replaces another
    ///   (dispatching again from the checkpoint) starts where the old one's numbers ended, so a late
    ///   acknowledgement of an old dispatch can never be taken for a new one.
    init(checkpoint: Int64? = nil, firstSequence: Int = 0) {
        self.checkpoint = checkpoint
        self.headSequence = firstSequence
    }

    /// The sequence number the next dispatch gets.
    var nextSequence: Int { headSequence + (keys.count - head) }

    /// Records a dispatch and returns its sequence number for `acknowledge`.
    mutating func dispatch(key: Int64) -> Int {
        keys.append(key)
        acknowledged.append(false)
        return headSequence + (keys.count - head) - 1
    }

    /// Marks one dispatch acknowledged; returns true when the checkpoint moved.
    @discardableResult
    mutating func acknowledge(_ sequence: Int) -> Bool {
        let slot = head + (sequence - headSequence)
        guard slot >= head, slot < keys.count else { return false }
        acknowledged[slot] = true
        var moved = false
        while head < keys.count, acknowledged[head] {
            checkpoint = max(checkpoint ?? keys[head], keys[head])
            head += 1
            headSequence += 1
            moved = true
        }
        if head > 4096, head * 2 > keys.count {
            keys.removeFirst(head)
            acknowledged.removeFirst(head)
            head = 0
        }
        return moved
    }

    /// Dispatches not yet acknowledged.
    var pending: Int { keys.count - head }
}
