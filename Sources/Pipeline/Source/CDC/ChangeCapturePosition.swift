import Foundation
import Postgres

/// Where change data capture stands, as one record of the offsets topic (key `cdc:<slot>`) with
/// `kafka.exactly_once`, committed in the same Kafka transaction as the records it describes.
///
/// - `segments`: which snapshot read which rows. A snapshot interrupted by a crash cannot be read on (its exported
///   snapshot died with its connection), so the rest of the tables is read in a new snapshot, and each key range
///   remembers the LSN of the snapshot that read it. The stream then sends a change only when its transaction
///   committed at or after the point of the segment holding its key: older changes are in that segment's rows.
/// - `transaction` and `records`: the commit LSN of the last PostgreSQL transaction with records in Kafka and how
///   many of its records (in stream order) are in. pgoutput replays a transaction identically, so on restart
///   everything up to there is skipped, also inside a 200,000-row transaction split over Kafka transactions.
/// - `confirmable`: the end LSN of the last PostgreSQL transaction whose records are all committed in Kafka (how
///   far the slot may be confirmed).
struct ChangeCapturePosition: Codable, Sendable, Equatable, CustomStringConvertible {
    /// Rows of `table` with `after < key <= through` were read in the snapshot at `point` (`after` nil: from the
    /// first key; `through` nil: none yet; `complete`: to the table's end).
    struct Segment: Codable, Sendable, Equatable {
        var table: String
        var after: Int64?
        var through: Int64?
        var complete = false
        var point: String

        func holds(_ key: Int64) -> Bool {
            guard after.map({ key > $0 }) ?? true else { return false }
            return complete || through.map { key <= $0 } ?? false
        }
    }

    var mode = "cdc"
    var slot: String
    var commit: Int64 = 0
    var segments: [Segment] = []
    var snapshotDone = false
    var transaction: String?
    var records = 0
    var confirmable: String?

    init(slot: String) { self.slot = slot }

    static func key(slot: String) -> String { "cdc:\(slot)" }

    var description: String {
        if !snapshotDone { return "snapshot in progress (\(segments.count) segments)" }
        guard let transaction else { return "snapshot done, no change yet" }
        return "transaction \(transaction) record \(records), confirmable \(confirmable ?? "-")"
    }

    // MARK: the snapshot

    enum Coverage: Equatable {
        /// No row of the table was read yet.
        case none
        /// Rows up to and including this key were read.
        case through(Int64)
        /// The whole table was read.
        case all
    }

    func coverage(of table: String) -> Coverage {
        var result = Coverage.none
        for segment in segments where segment.table == table {
            if segment.complete { return .all }
            guard let through = segment.through ?? segment.after else { continue }
            if case .through(let known) = result, known >= through { continue }
            result = .through(through)
        }
        return result
    }

    /// Starts reading `table` above `after` in the snapshot at `point`.
    mutating func openSegment(table: String, after: Int64?, point: PostgresLSN) {
        segments.append(Segment(table: table, after: after, through: nil, point: point.description))
    }

    /// The open (last) segment now reaches `key`.
    mutating func extendSegment(through key: Int64) {
        guard !segments.isEmpty else { return }
        segments[segments.count - 1].through = key
    }

    /// The open (last) segment reaches the table's end.
    mutating func closeSegment() {
        guard !segments.isEmpty else { return }
        segments[segments.count - 1].complete = true
    }

    /// The point of the snapshot that read `key` of `table`; nil when no snapshot covers it.
    func snapshotPoint(table: String, key: Int64?) -> PostgresLSN? {
        let points = segments.lazy.filter { $0.table == table }
        if let key, let segment = points.first(where: { $0.holds(key) }) { return PostgresLSN(segment.point) }
        // A NULL or non-numeric key, or a truncate: the oldest point of the table (send rather than lose).
        return points.compactMap { PostgresLSN($0.point) }.min()
    }

    /// Whether the stream sends a change of `table`/`key` committed at `commitLSN`: only when it is newer than
    /// the snapshot that read the key (or no snapshot covers it).
    func isNewer(table: String, key: Int64?, commitLSN: PostgresLSN) -> Bool {
        guard let point = snapshotPoint(table: table, key: key) else { return true }
        return commitLSN >= point
    }

    // MARK: the stream

    /// Whether record `index` (0-based, in stream order) of the transaction committed at `commitLSN` is in Kafka.
    func alreadySent(commitLSN: PostgresLSN, index: Int) -> Bool {
        guard let transaction = transaction.flatMap({ PostgresLSN($0) }) else { return false }
        return commitLSN < transaction || (commitLSN == transaction && index < records)
    }

    /// Record `index` of the transaction committed at `commitLSN` was produced.
    mutating func sent(commitLSN: PostgresLSN, index: Int) {
        transaction = commitLSN.description
        records = index + 1
    }

    // MARK: the record

    func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array((try? encoder.encode(self)) ?? Data("{}".utf8))
    }

    static func decode(_ bytes: [UInt8]) -> ChangeCapturePosition? {
        guard let position = try? JSONDecoder().decode(ChangeCapturePosition.self, from: Data(bytes)),
              position.mode == "cdc" else { return nil }
        return position
    }
}
