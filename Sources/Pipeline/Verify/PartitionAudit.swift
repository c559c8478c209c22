/// What `pinpipe verify` concludes about one topic-partition, as a pure function of the stored objects (keys and
/// metadata, and with `--deep` their line counts), the loss records, the group's committed offset, the
/// partition's log start and the records Kafka holds beyond the stored ones.
///
/// Offsets are covered by objects and by loss records, in order. An object covers from its `covers-from`
/// metadata (the offset after the previous object of the same uninterrupted read) to its last offset: offsets
/// in there without a record are transaction markers or aborted records, which a read_committed consumer never
/// sees — holes, not loss. Anything else that no object and no loss record covers is a gap.
public struct PartitionAudit: Sendable, Equatable {
    public struct StoredObject: Sendable, Equatable {
        public var key: String
        /// The start offset in the key's file name.
        public var keyOffset: Int64
        public var firstOffset: Int64
        public var lastOffset: Int64
        /// From the metadata; nil for objects written before pinpipe recorded it.
        public var coversFrom: Int64?
        public var recordCount: Int64?
        public var deadLetterCount: Int64?
        /// Lines in the body (`verify --deep`), nil when not read.
        public var lineCount: Int64?

        public init(key: String, keyOffset: Int64? = nil, firstOffset: Int64, lastOffset: Int64, coversFrom: Int64? = nil,
                    recordCount: Int64? = nil, deadLetterCount: Int64? = nil, lineCount: Int64? = nil) {
            self.key = key
            self.keyOffset = keyOffset ?? firstOffset
            self.firstOffset = firstOffset
            self.lastOffset = lastOffset
            self.coversFrom = coversFrom
            self.recordCount = recordCount
            self.deadLetterCount = deadLetterCount
            self.lineCount = lineCount
        }

        /// Where the object's coverage starts.
        var coverageStart: Int64 { min(coversFrom ?? firstOffset, firstOffset) }
        /// Records it holds: the metadata's count, else (old objects) its offset span.
        var records: Int64 { recordCount ?? (lastOffset - firstOffset + 1) }
    }

    public enum Finding: Sendable, Equatable, CustomStringConvertible {
        /// Offsets nobody stored and no loss record explains.
        case gap(from: Int64, to: Int64)
        /// Two objects hold the same offsets.
        case overlap(firstKey: String, secondKey: String, from: Int64, to: Int64)
        /// A loss record: the broker deleted these offsets before the sink read them.
        case loss(from: Int64, to: Int64)
        /// An object's metadata disagrees with its key, itself, its body or its neighbour.
        case metadataMismatch(key: String, detail: String)
        /// The group committed past what S3 holds.
        case committedBeyondObjects(committed: Int64, storedUpTo: Int64)
        /// More than one object lies beyond the committed offset (at most one may, after a crash).
        case severalUncommittedObjects(count: Int)

        public var description: String {
            switch self {
            case .gap(let from, let to): "gap: offsets \(from)...\(to) are in no object and no loss record"
            case .overlap(let a, let b, let from, let to): "overlap: offsets \(from)...\(to) are in both \(a) and \(b)"
            case .loss(let from, let to): "LOSS: offsets \(from)...\(to) (\(to - from + 1) records) were deleted before the sink read them"
            case .metadataMismatch(let key, let detail): "metadata: \(key): \(detail)"
            case .committedBeyondObjects(let committed, let stored):
                "committed offset \(committed) is beyond the stored objects (they end at \(stored - 1))"
            case .severalUncommittedObjects(let count): "\(count) objects lie beyond the committed offset (at most 1 may)"
            }
        }
    }

    public var objects: Int
    public var storedRecords: Int64
    public var findings: [Finding]
    /// Records in Kafka that S3 does not hold yet (beyond the end of the stored objects).
    public var notYetStored: Int64
    /// An object stored but not yet committed (a crash between upload and commit; the next run rewrites it).
    public var uncommittedObjects: Int
    /// The offset after the last stored object or loss record.
    public var storedEnd: Int64
    /// Offsets `0..<uncheckedBelow` are in no object, no loss record, and no longer in Kafka (retention deleted
    /// them): this group began reading at a log start above 0 (a new group, or one reset), or the objects that
    /// held them were removed (an S3 lifecycle rule). Verify cannot tell which, nor check them; it says so rather
    /// than stay silent. 0 when coverage starts at offset 0.
    public var uncheckedBelow: Int64

    /// No gap, overlap, loss or inconsistent object.
    public var isClean: Bool { findings.isEmpty }
    /// Clean, and S3 holds every record Kafka holds.
    public var isComplete: Bool { isClean && notYetStored == 0 }

    /// - Parameters:
    ///   - losses: the partition's loss records (inclusive offset ranges).
    ///   - notYetStored: records Kafka holds at or after the stored end (read by the caller, which can tell
    ///     records from transaction markers); nil to take `high − stored end`.
    public init(objects stored: [StoredObject], losses: [ClosedRange<Int64>] = [], committed: Int64?, low: Int64,
                high: Int64, notYetStored: Int64? = nil) {
        let sorted = stored.sorted { ($0.firstOffset, $0.lastOffset) < ($1.firstOffset, $1.lastOffset) }
        let lossRanges = losses.sorted { $0.lowerBound < $1.lowerBound }
        var findings: [Finding] = sorted.flatMap(Self.inconsistencies(of:))
        // Where coverage must start: offset 0, or the log start once retention deleted older records (those can
        // no longer be checked), or the first object's own start if it lies lower.
        let firstStart = min(sorted.first?.coverageStart ?? Int64.max, lossRanges.first?.lowerBound ?? Int64.max)
        var expected = min(firstStart, max(low, 0))
        let checkedFrom = expected
        var records: Int64 = 0
        var previous: StoredObject?
        var pendingLosses = lossRanges[...]

        /// Covers offsets up to `start − 1` with the loss records that begin before `start`; what remains is a gap.
        func coverLosses(before start: Int64) {
            while let loss = pendingLosses.first, loss.lowerBound < start {
                pendingLosses.removeFirst()
                if loss.lowerBound > expected { findings.append(.gap(from: expected, to: loss.lowerBound - 1)) }
                expected = max(expected, loss.upperBound + 1)
            }
        }

        for object in sorted {
            coverLosses(before: object.coverageStart)
            let start = object.coverageStart
            if object.firstOffset < expected, let previous {
                findings.append(.overlap(firstKey: previous.key, secondKey: object.key, from: object.firstOffset,
                                         to: min(expected - 1, object.lastOffset)))
            } else if start < expected, let previous {
                findings.append(.metadataMismatch(
                    key: object.key, detail: "covers-from \(start) lies inside \(previous.key), which ends at \(expected - 1)"))
            } else if start > expected {
                findings.append(.gap(from: expected, to: start - 1))
            }
            records += object.records
            expected = max(expected, object.lastOffset + 1)
            previous = object
        }
        coverLosses(before: Int64.max)
        findings += lossRanges.map { .loss(from: $0.lowerBound, to: $0.upperBound) }

        if let committed {
            if committed > expected {
                findings.append(.committedBeyondObjects(committed: committed, storedUpTo: expected))
            }
            let beyond = sorted.filter { $0.firstOffset >= committed }.count
            if beyond > 1 { findings.append(.severalUncommittedObjects(count: beyond)) }
            uncommittedObjects = beyond
        } else {
            uncommittedObjects = sorted.count
            if sorted.count > 1 { findings.append(.severalUncommittedObjects(count: sorted.count)) }
        }
        self.objects = sorted.count
        self.storedRecords = records
        self.findings = findings
        self.storedEnd = expected
        self.uncheckedBelow = checkedFrom
        self.notYetStored = notYetStored ?? max(0, high - expected)
    }

    /// What one object's metadata says against its key, itself and (deep) its body.
    static func inconsistencies(of object: StoredObject) -> [Finding] {
        var problems: [String] = []
        if object.keyOffset != object.firstOffset {
            problems.append("first-offset \(object.firstOffset) differs from the key's offset \(object.keyOffset)")
        }
        if object.lastOffset < object.firstOffset {
            problems.append("last-offset \(object.lastOffset) is below first-offset \(object.firstOffset)")
        }
        if let coversFrom = object.coversFrom, coversFrom > object.firstOffset {
            problems.append("covers-from \(coversFrom) is above first-offset \(object.firstOffset)")
        }
        let span = object.lastOffset - object.firstOffset + 1
        if let count = object.recordCount {
            let total = count + (object.deadLetterCount ?? 0)
            if count < 0 || total > span {
                problems.append("record-count \(count) + dead-letter-count \(object.deadLetterCount ?? 0) exceeds the "
                                + "\(span) offsets \(object.firstOffset)...\(object.lastOffset)")
            }
        }
        if let lines = object.lineCount, lines != object.records {
            problems.append("the body has \(lines) lines, the metadata says \(object.records) records")
        }
        return problems.map { .metadataMismatch(key: object.key, detail: $0) }
    }
}
