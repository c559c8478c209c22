/// What `pinpipe verify` concludes about one topic-partition, as a pure function of the stored objects, the
/// group's committed offset and the partition's watermarks.
public struct PartitionAudit: Sendable, Equatable {
    public struct StoredObject: Sendable, Equatable {
        public var key: String
        public var firstOffset: Int64
        public var lastOffset: Int64

        public init(key: String, firstOffset: Int64, lastOffset: Int64) {
            self.key = key
            self.firstOffset = firstOffset
            self.lastOffset = lastOffset
        }
    }

    public enum Finding: Sendable, Equatable, CustomStringConvertible {
        /// Offsets nobody stored although they were readable (or committed).
        case gap(from: Int64, to: Int64)
        /// Two objects hold the same offsets.
        case overlap(firstKey: String, secondKey: String, from: Int64, to: Int64)
        /// The group committed past what S3 holds.
        case committedBeyondObjects(committed: Int64, storedUpTo: Int64)
        /// More than one object lies beyond the committed offset (at most one may, after a crash).
        case severalUncommittedObjects(count: Int)

        public var description: String {
            switch self {
            case .gap(let from, let to): "gap: offsets \(from)...\(to) are in no object"
            case .overlap(let a, let b, let from, let to): "overlap: offsets \(from)...\(to) are in both \(a) and \(b)"
            case .committedBeyondObjects(let committed, let stored):
                "committed offset \(committed) is beyond the stored objects (they end at \(stored - 1))"
            case .severalUncommittedObjects(let count): "\(count) objects lie beyond the committed offset (at most 1 may)"
            }
        }
    }

    public var objects: Int
    public var storedRecords: Int64
    public var findings: [Finding]
    /// Records in Kafka not yet in S3 (high watermark − end of the stored objects).
    public var notYetStored: Int64
    /// An object stored but not yet committed (a crash between upload and commit; the next run rewrites it).
    public var uncommittedObjects: Int

    public var isClean: Bool { findings.isEmpty }

    public init(objects stored: [StoredObject], committed: Int64?, low: Int64, high: Int64) {
        let sorted = stored.sorted { ($0.firstOffset, $0.lastOffset) < ($1.firstOffset, $1.lastOffset) }
        var findings: [Finding] = []
        // The log may have been truncated by retention: offsets below `low` can no longer be checked.
        var expected = sorted.first.map { min($0.firstOffset, max(low, 0)) } ?? max(low, 0)
        var records: Int64 = 0
        var previous: StoredObject?
        for object in sorted {
            if object.firstOffset > expected {
                findings.append(.gap(from: expected, to: object.firstOffset - 1))
            } else if object.firstOffset < expected, let previous {
                findings.append(.overlap(firstKey: previous.key, secondKey: object.key, from: object.firstOffset,
                                         to: min(expected - 1, object.lastOffset)))
            }
            records += object.lastOffset - object.firstOffset + 1
            expected = max(expected, object.lastOffset + 1)
            previous = object
        }
        let storedEnd = expected
        if let committed {
            if committed > storedEnd {
                findings.append(.committedBeyondObjects(committed: committed, storedUpTo: storedEnd))
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
        self.notYetStored = max(0, high - storedEnd)
    }
}
