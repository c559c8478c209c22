import Support
import NIOCore
import PipelineConfig

/// A batch that has stopped growing and is ready to be stored as one object.
struct SealedBatch: Sendable, Equatable {
    var startOffset: Int64
    var lastOffset: Int64
    /// Where this batch's responsibility begins: the offset after the previous batch of the same uninterrupted
    /// read (or after a recorded loss). Offsets from here to `startOffset` held no record for a read_committed
    /// consumer (transaction markers, aborted records). Nil for the first batch after an assignment.
    var coversFrom: Int64? = nil
    var recordCount: Int
    /// Records that are not valid JSON (their offsets lie inside the range): stored at the dead-letter location
    /// before this batch's object.
    var deadLetters: [DeadLetter] = []
    var deadLetterCount: Int { deadLetters.count }
    /// JSON Lines: one record value and a newline per record, in offset order (a ByteBuffer, so that the S3
    /// client sends it without a copy).
    var body: ByteBuffer
    /// Time-based path segment of the first record (extension), or nil.
    var timePath: String?
    var reason: RollReason

    /// Bytes it holds against the sink's memory budget.
    var heldBytes: Int { body.readableBytes + deadLetters.reduce(0) { $0 + $1.byteCount } }
}

/// Why a batch was sealed.
enum RollReason: String, Sendable {
    case records, bytes, age, timePath = "time-path", drain
    /// The sink's memory limit was reached and this was the largest open batch.
    case memory
}

/// The batching decisions of one topic-partition, as a pure state machine.
///
/// Sealed batches queue up behind the one being stored; appending never waits for an upload (the sink's memory
/// budget bounds the queue instead).
///
/// - Important: At most one object per partition is uncommitted at any time: a sealed batch is stored only after
///   the previous upload *and* its offset commit finished. A retried batch therefore starts at the same offset
///   and overwrites the same key, so S3 never holds a gap or an overlap, whatever crashes.
struct PartitionBatcher: Sendable {
    struct OpenBatch: Sendable {
        var startOffset: Int64
        var lastOffset: Int64
        var recordCount = 0
        var deadLetters: [DeadLetter] = []
        var deadLetterBytes = 0
        var body = ByteBuffer()
        var openedAt: PipelineClock.Instant
        var timePath: String?
        var coversFrom: Int64?
    }

    enum Action: Sendable, Equatable {
        /// Store this batch, then commit `lastOffset + 1`, then report `uploadFinished`.
        case upload(SealedBatch)
    }

    let limits: BatchLimits
    private(set) var open: OpenBatch?
    /// Sealed and waiting, oldest first, for the in-flight upload to finish.
    private(set) var queued: [SealedBatch] = []
    /// Being stored and committed.
    private(set) var inFlight: SealedBatch?
    /// Body bytes of the sealed batches (queued and in flight).
    private(set) var sealedBytes = 0
    /// The size of the last sealed body: the capacity reserved for the next batch, so bodies do not grow by
    /// doubling (which would hold up to twice the memory the budget counts).
    private var capacityHint = 0
    /// The body of the last stored batch, emptied, for the next batch to write into: its pages are resident
    /// already, so the next batch does not fault in fresh memory page by page (measured: a sixth of the sink's
    /// CPU time went to those faults). Kept only when the writer has room for it in the memory budget.
    private(set) var spare: ByteBuffer?
    /// What the spare holds against the budget: the bytes its last batch wrote. It is kept only while that is at
    /// least half its capacity, so what it really holds is at most twice this.
    private(set) var spareBytes = 0
    /// How many stored bodies became the spare, and how many batches were opened in one.
    private(set) var sparesKept = 0
    private(set) var sparesReused = 0
    /// The offset after the last sealed batch (or after a recorded loss): where the next batch's coverage starts.
    private(set) var coveredUpTo: Int64?
    /// The highest offset taken so far: a partition's offsets only grow, so a record at or below it was taken
    /// already (a consumer that delivers it twice) and is dropped — an object never holds an offset twice.
    private(set) var lastTaken: Int64?
    /// How many records were dropped for that reason.
    private(set) var repeatedOffsets = 0

    /// False (and counted) for an offset taken already.
    private mutating func isNew(_ offset: Int64) -> Bool {
        if let lastTaken, offset <= lastTaken {
            repeatedOffsets += 1
            return false
        }
        lastTaken = offset
        return true
    }

    init(limits: BatchLimits) {
        self.limits = limits
    }

    /// Nothing open, queued or in flight.
    var isIdle: Bool { open == nil && queued.isEmpty && inFlight == nil }

    /// Bytes the open batch holds (its body and its dead letters).
    var openBytes: Int { (open?.body.readableBytes ?? 0) + (open?.deadLetterBytes ?? 0) }

    /// Appends one record value (valid JSON, without a newline).
    mutating func append(offset: Int64, value: UnsafeRawBufferPointer, timePath: String? = nil,
                         now: PipelineClock.Instant) -> [Action] {
        guard isNew(offset) else { return [] }
        var actions: [Action] = []
        // Reads through `open?` rather than binding a copy: the body must stay uniquely referenced.
        if open != nil {
            if open?.timePath != timePath {
                actions += seal(.timePath)
            } else if openBytes + value.count + 1 > limits.maxBytes, (open?.recordCount ?? 0) > 0 {
                actions += seal(.bytes)
            }
        }
        if open == nil {
            open = OpenBatch(startOffset: offset, lastOffset: offset, openedAt: now, timePath: timePath)
            open!.coversFrom = coveredUpTo.flatMap { $0 <= offset ? $0 : nil }
            if let body = spare {
                open!.body = body
                dropSpare()
                sparesReused += 1
            }
            if capacityHint > 0 { open!.body.reserveCapacity(min(capacityHint + capacityHint / 16, limits.maxBytes)) }
        }
        open!.body.writeBytes(value)
        open!.body.writeInteger(UInt8(ascii: "\n"))
        open!.recordCount += 1
        open!.lastOffset = offset
        if open!.recordCount >= limits.maxRecords {
            actions += seal(.records)
        } else if open!.body.readableBytes >= limits.maxBytes {
            actions += seal(.bytes)
        }
        return actions
    }

    mutating func append(offset: Int64, value: [UInt8], timePath: String? = nil, now: PipelineClock.Instant) -> [Action] {
        value.withUnsafeBytes { append(offset: offset, value: $0, timePath: timePath, now: now) }
    }

    /// A record that is not valid JSON: the batch covers its offset and carries it to the dead-letter location.
    mutating func deadLetter(_ letter: DeadLetter, now: PipelineClock.Instant) -> [Action] {
        guard isNew(letter.offset) else { return [] }
        if open == nil {
            open = OpenBatch(startOffset: letter.offset, lastOffset: letter.offset, openedAt: now, timePath: nil)
            open!.coversFrom = coveredUpTo.flatMap { $0 <= letter.offset ? $0 : nil }
        }
        open!.lastOffset = letter.offset
        open!.deadLetters.append(letter)
        open!.deadLetterBytes += letter.byteCount
        if open!.recordCount + open!.deadLetters.count >= limits.maxRecords { return seal(.records) }
        return []
    }

    /// Seals the open batch when it is older than `maxAge`. An idle partition (nothing open, queued or in flight)
    /// lets its spare go.
    mutating func tick(now: PipelineClock.Instant) -> [Action] {
        if isIdle, spare != nil { dropSpare() }
        guard let current = open, now - current.openedAt >= limits.maxAge else { return [] }
        return seal(.age)
    }

    /// The next batch's coverage starts at `offset` (after a recorded loss; nothing may be open).
    mutating func resumeCoverage(at offset: Int64) {
        precondition(open == nil, "coverage moves only between batches")
        coveredUpTo = offset
    }

    /// Seals whatever is open (shutdown, end of input).
    mutating func drain() -> [Action] { seal(.drain) }

    /// Seals the open batch early because the sink holds too much memory.
    mutating func sealForMemory() -> [Action] { seal(.memory) }

    /// The in-flight batch was stored and committed: returns the bytes it held and starts the next one, if any.
    /// With `keepingBody`, its body becomes the ``spare`` (unless one is kept already, or the body is mostly
    /// unused capacity); the spare's bytes are then held, see ``spareBytes``.
    mutating func uploadFinished(keepingBody: Bool = false) -> (released: Int, actions: [Action]) {
        let released = inFlight?.heldBytes ?? 0
        sealedBytes -= released
        var body = inFlight?.body
        inFlight = nil
        if keepingBody, spare == nil, var kept = body.take(), kept.readableBytes > 0,
           kept.readableBytes * 2 >= kept.capacity {
            // Clearing keeps the storage only if no other reference is left (the uploader dropped its own);
            // otherwise it allocates afresh, which would save nothing.
            let storage = kept.withUnsafeReadableBytes { $0.baseAddress }
            let written = kept.readableBytes
            kept.clear()
            if kept.withVeryUnsafeBytes({ $0.baseAddress }) == storage {
                spare = kept
                spareBytes = written
                sparesKept += 1
            }
        }
        guard !queued.isEmpty else { return (released, []) }
        let next = queued.removeFirst()
        inFlight = next
        return (released, [.upload(next)])
    }

    /// Lets the spare body go (the sink needs the memory).
    mutating func dropSpare() {
        spare = nil
        spareBytes = 0
    }

    /// Drops everything not yet stored, and the spare (the partition was revoked); returns the bytes that held.
    mutating func abandon() -> Int {
        let released = openBytes + sealedBytes + spareBytes
        dropSpare()
        open = nil
        queued = []
        inFlight = nil
        sealedBytes = 0
        return released
    }

    private mutating func seal(_ reason: RollReason) -> [Action] {
        guard let current = open else { return [] }
        open = nil
        coveredUpTo = current.lastOffset + 1
        let batch = SealedBatch(startOffset: current.startOffset, lastOffset: current.lastOffset,
                                coversFrom: current.coversFrom, recordCount: current.recordCount,
                                deadLetters: current.deadLetters, body: current.body, timePath: current.timePath,
                                reason: reason)
        sealedBytes += batch.heldBytes
        if reason == .records || reason == .bytes { capacityHint = batch.body.readableBytes }
        if inFlight == nil {
            inFlight = batch
            return [.upload(batch)]
        }
        queued.append(batch)
        return []
    }
}
