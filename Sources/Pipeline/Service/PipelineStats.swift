import Synchronization

/// Counters every actor updates and the STATUS line reads. Lock-free where it is hot.
public final class PipelineStats: Sendable {
    public let rowsRead = Atomic<Int>(0)
    public let produced = Atomic<Int>(0)
    public let acknowledged = Atomic<Int>(0)
    public let consumed = Atomic<Int>(0)
    public let uploadedRecords = Atomic<Int>(0)
    public let objects = Atomic<Int>(0)
    public let deadLetters = Atomic<Int>(0)
    /// Records the broker deleted before the sink read them, and the ranges they came in (see `DataLoss`).
    public let lostRecords = Atomic<Int>(0)
    public let lossRanges = Atomic<Int>(0)
    private let state = Mutex<State>(State())

    private struct State {
        var lastError: String?
        var outage: String?
        var lag: Int64?
    }

    public init() {}

    public func recordError(_ message: String) { state.withLock { $0.lastError = message } }
    /// A dependency outage in progress (nil when it ended): shown in STATUS, not a hang.
    public func setOutage(_ message: String?) { state.withLock { $0.outage = message } }
    public func setLag(_ lag: Int64?) { state.withLock { $0.lag = lag } }
    public func recordLoss(records: Int64) {
        lostRecords.add(Int(records), ordering: .relaxed)
        lossRanges.add(1, ordering: .relaxed)
    }

    public var lastError: String? { state.withLock { $0.lastError } }
    public var outage: String? { state.withLock { $0.outage } }

    /// The one-line summary sent as STATUS= to systemd.
    public func statusLine(roles: Set<String>) -> String {
        let (lastError, outage, lag) = state.withLock { ($0.lastError, $0.outage, $0.lag) }
        var parts: [String] = []
        if roles.contains("produce") {
            parts.append("produced \(produced.load(ordering: .relaxed)) (acked \(acknowledged.load(ordering: .relaxed)))")
        }
        if roles.contains("sink") {
            parts.append("consumed \(consumed.load(ordering: .relaxed))")
            parts.append("uploaded \(uploadedRecords.load(ordering: .relaxed)) in \(objects.load(ordering: .relaxed)) objects")
            parts.append("lag \(lag.map(String.init) ?? "?")")
            let dead = deadLetters.load(ordering: .relaxed)
            if dead > 0 { parts.append("dead-letter \(dead)") }
            let lost = lostRecords.load(ordering: .relaxed)
            if lost > 0 {
                parts.append("DATA LOSS: \(lost) records in \(lossRanges.load(ordering: .relaxed)) ranges (see the journal)")
            }
        }
        if let outage { parts.append("OUTAGE: \(outage)") }
        if let lastError { parts.append("last error: \(lastError)") }
        return parts.joined(separator: ", ")
    }
}
