/// The open transaction of the exactly-once source, as a pure value: who may produce, when the transaction
/// is due, and what its commit or abort does to the positions. `TransactionCoordinator` performs the actions.
///
/// - Important: A transaction commits only while no row is between `admit` and `release` (the gate is
///   closed first), so the positions it writes are exactly those of the rows it holds. An abort bumps
///   `generation`: readers that admitted rows in an older generation rewind to `committed`.
struct TransactionState: Sendable {
    enum Phase: Sendable, Equatable {
        /// Rows may be admitted.
        case open
        /// The transaction is due: new rows wait until it is committed or aborted.
        case closing
        /// Stopped for good (a fatal error or the end of the source).
        case finished
    }

    enum Admission: Sendable, Equatable {
        case admitted
        /// Wait until the gate opens again, then ask again.
        case wait
        /// The caller's rows were in an aborted transaction: start over from `committed`.
        case rewind
        case finished
    }

    let maxRecords: Int
    let maxInterval: Duration
    private(set) var phase: Phase = .open
    private(set) var generation = 0
    /// Rows between `admit` and `release`.
    private(set) var active = 0
    /// Rows in the open transaction.
    private(set) var records = 0
    private(set) var openedAt: ContinuousClock.Instant?
    /// Positions of the rows in the open transaction, per table.
    private(set) var pending: [String: SourcePosition] = [:]
    /// Positions of the last committed transaction, per table.
    private(set) var committed: [String: SourcePosition]
    /// Number of the next commit (positions carry it).
    private(set) var nextCommit: Int64
    /// A row failed to enqueue, or a delivery failed: the open transaction must be aborted, not committed.
    private(set) var poisoned = false
    /// Someone waits for the open transaction's rows to be committed (a table that finished): commit now.
    private(set) var commitRequested = false
    private(set) var stopRequested = false
    /// Transactions ended (committed or aborted) so far.
    private(set) var ended = 0

    init(maxRecords: Int, maxInterval: Duration, committed: [String: SourcePosition]) {
        self.maxRecords = maxRecords
        self.maxInterval = maxInterval
        self.committed = committed
        nextCommit = (committed.values.map(\.commit).max() ?? 0) + 1
    }

    /// Admits `rows` rows (one row, or one emulator event's rows) of a reader that started in `generation`.
    mutating func admit(rows: Int, generation: Int, now: ContinuousClock.Instant) -> Admission {
        if phase == .finished { return .finished }
        if generation != self.generation { return .rewind }
        guard phase == .open else { return .wait }
        active += 1
        records += rows
        if openedAt == nil { openedAt = now }
        if records >= maxRecords { phase = .closing }
        return .admitted
    }

    /// Ends an admission; `positions` are the tables' positions after the rows, nil when they were not produced
    /// (then the transaction is poisoned). Returns true when the gate is closing and now quiet.
    mutating func release(positions: [String: SourcePosition]?) -> Bool {
        active -= 1
        if let positions {
            pending.merge(positions) { $1 }
        } else {
            poisoned = true
        }
        return phase == .closing && active == 0
    }

    mutating func poison() { poisoned = true }

    mutating func requestCommit() { commitRequested = true }

    mutating func requestStop() { stopRequested = true }

    /// Whether the open transaction should end now: full, old enough, waited for, or the source is stopping.
    func isDue(now: ContinuousClock.Instant) -> Bool {
        guard phase != .finished else { return false }
        if phase == .closing || poisoned { return true }
        guard records > 0 else { return false }
        if commitRequested || stopRequested || records >= maxRecords { return true }
        if let openedAt, now - openedAt >= maxInterval { return true }
        return false
    }

    /// When the open transaction becomes due by age, if it holds rows.
    var dueAt: ContinuousClock.Instant? { openedAt.map { $0 + maxInterval } }

    /// Closes the gate; true when no row is between admit and release.
    mutating func close() -> Bool {
        if phase == .open { phase = .closing }
        return active == 0
    }

    var isQuiet: Bool { active == 0 }

    /// What to write to the offsets topic with the commit: the positions of the tables that moved, numbered.
    func positionsToCommit() -> [String: SourcePosition] {
        pending.mapValues { position in
            var numbered = position
            numbered.commit = nextCommit
            return numbered
        }
    }

    /// The commit succeeded: the pending positions are the committed ones; the gate opens.
    mutating func committedTransaction() {
        for (table, position) in positionsToCommit() { committed[table] = position }
        if !pending.isEmpty { nextCommit += 1 }
        reset()
    }

    /// The transaction was aborted: its rows are gone, and every reader rewinds to `committed`.
    mutating func abortedTransaction() {
        generation += 1
        reset()
    }

    mutating func finish() { phase = .finished }

    private mutating func reset() {
        ended += 1
        pending = [:]
        records = 0
        openedAt = nil
        poisoned = false
        commitRequested = false
        if phase != .finished { phase = .open }
    }
}
