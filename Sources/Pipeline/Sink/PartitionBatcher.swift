import PipelineConfig

/// A batch that has stopped growing and is ready to be stored as one object.
struct SealedBatch: Sendable, Equatable {
    var startOffset: Int64
    var lastOffset: Int64
    var recordCount: Int
    /// Records sent to the dead-letter location instead (their offsets lie inside the range).
    var deadLetterCount: Int
    /// JSON Lines: one record value and a newline per record, in offset order.
    var body: [UInt8]
    /// Time-based path segment of the first record (extension), or nil.
    var timePath: String?
    var reason: RollReason
}

/// Why a batch was sealed.
enum RollReason: String, Sendable {
    case records, bytes, age, timePath = "time-path", drain
}

/// The batching decisions of one topic-partition, as a pure state machine.
///
/// - Important: At most one object per partition is uncommitted at any time: a sealed batch waits until the
///   previous upload *and* its offset commit finished. A retried batch therefore starts at the same offset and
///   overwrites the same key, so S3 never holds a gap or an overlap, whatever crashes.
struct PartitionBatcher: Sendable {
    struct OpenBatch: Sendable {
        var startOffset: Int64
        var lastOffset: Int64
        var recordCount = 0
        var deadLetterCount = 0
        var body: [UInt8] = []
        var openedAt: ContinuousClock.Instant
        var timePath: String?
    }

    enum Action: Sendable, Equatable {
        /// Store this batch, then commit `lastOffset + 1`, then report `uploadFinished`.
        case upload(SealedBatch)
    }

    let limits: BatchLimits
    private(set) var open: OpenBatch?
    /// Sealed and waiting for the in-flight upload to finish.
    private(set) var waiting: SealedBatch?
    /// Being stored and committed.
    private(set) var inFlight: SealedBatch?

    init(limits: BatchLimits) {
        self.limits = limits
    }

    /// True when appending could need a second sealed batch: the caller must wait for `uploadFinished` first.
    var isBlocked: Bool { waiting != nil }

    /// Nothing open, waiting or in flight.
    var isIdle: Bool { open == nil && waiting == nil && inFlight == nil }

    /// Appends one record value (valid JSON, without a newline).
    mutating func append(offset: Int64, value: [UInt8], timePath: String? = nil, now: ContinuousClock.Instant) -> [Action] {
        precondition(!isBlocked, "append while blocked: wait for uploadFinished")
        var actions: [Action] = []
        if let current = open {
            if current.timePath != timePath {
                actions += seal(.timePath)
            } else if current.body.count + value.count + 1 > limits.maxBytes, current.recordCount > 0 {
                actions += seal(.bytes)
            }
        }
        if open == nil {
            open = OpenBatch(startOffset: offset, lastOffset: offset, openedAt: now, timePath: timePath)
        }
        open!.body.append(contentsOf: value)
        open!.body.append(UInt8(ascii: "\n"))
        open!.recordCount += 1
        open!.lastOffset = offset
        if open!.recordCount >= limits.maxRecords {
            actions += seal(.records)
        } else if open!.body.count >= limits.maxBytes {
            actions += seal(.bytes)
        }
        return actions
    }

    /// A record at `offset` went to the dead-letter location: the batch still covers its offset.
    mutating func skip(offset: Int64, now: ContinuousClock.Instant) -> [Action] {
        precondition(!isBlocked, "skip while blocked: wait for uploadFinished")
        if open == nil {
            open = OpenBatch(startOffset: offset, lastOffset: offset, openedAt: now, timePath: nil)
        }
        open!.lastOffset = offset
        open!.deadLetterCount += 1
        return []
    }

    /// Seals the open batch when it is older than `maxAge`.
    mutating func tick(now: ContinuousClock.Instant) -> [Action] {
        guard let current = open, waiting == nil, now - current.openedAt >= limits.maxAge else { return [] }
        return seal(.age)
    }

    /// Seals whatever is open (shutdown, end of input).
    mutating func drain() -> [Action] {
        guard open != nil, waiting == nil else { return [] }
        return seal(.drain)
    }

    /// The in-flight batch was stored and committed; starts the waiting one, if any.
    mutating func uploadFinished() -> [Action] {
        inFlight = nil
        guard let next = waiting else { return [] }
        waiting = nil
        inFlight = next
        if let current = open, current.recordCount >= limits.maxRecords || current.body.count >= limits.maxBytes {
            _ = seal(current.recordCount >= limits.maxRecords ? .records : .bytes)
        }
        return [.upload(next)]
    }

    private mutating func seal(_ reason: RollReason) -> [Action] {
        guard let current = open, waiting == nil else { return [] }
        open = nil
        let batch = SealedBatch(startOffset: current.startOffset, lastOffset: current.lastOffset,
                                recordCount: current.recordCount, deadLetterCount: current.deadLetterCount,
                                body: current.body, timePath: current.timePath, reason: reason)
        if inFlight == nil {
            inFlight = batch
            return [.upload(batch)]
        }
        waiting = batch
        return []
    }
}
