import Kafka
import Logging
import PipelineConfig
import Synchronization

/// The rows of a reader were in a transaction that was aborted: read again from the last committed position.
struct TransactionRewind: Error, CustomStringConvertible {
    var description: String { "the transaction was aborted; re-reading from the last committed position" }
}

/// Runs the exactly-once source's transactions (``TransactionState`` decides, this performs): readers
/// `admit` a row, produce it and `release` it with their new position; `run()` commits when a transaction is
/// due, writing one position record per table that moved to the offsets topic in the same transaction.
///
/// - Important: An abortable error aborts the transaction and makes every reader rewind to the committed
///   positions (no row lost or doubled); a fatal one (fenced) ends the source with that error. Waits beat the
///   source's liveness: a slow commit is an outage, not a hang.
final class TransactionCoordinator: Sendable {
    private struct Inner {
        var machine: TransactionState
        /// Readers waiting for the gate to open.
        var gateWaiters: [CheckedContinuation<Void, Never>] = []
        /// Readers waiting for a transaction to end (commit or abort).
        var endWaiters: [CheckedContinuation<Void, Never>] = []
        var failure: (any Error)?
    }

    private let inner: Mutex<Inner>
    /// Wakes `run()` when something changed that may make a transaction due or the gate quiet.
    private let wake = AsyncCondition()
    let producer: KafkaProducer
    let offsetsTopic: String
    let liveness: ActorLiveness
    let logger: Logger
    let commitTimeout: Duration
    /// Called after each commit with every committed position (the local checkpoint file follows the topic).
    let onCommit: @Sendable ([String: SourcePosition]) -> Void
    /// Called once when the source must stop (a fatal error).
    let onFatal: @Sendable (any Error) -> Void
    let commits = Atomic<Int>(0)
    let aborts = Atomic<Int>(0)

    init(producer: KafkaProducer, offsetsTopic: String, settings: TransactionLimits,
         committed: [String: SourcePosition], liveness: ActorLiveness, logger: Logger,
         commitTimeout: Duration = .seconds(60),
         onCommit: @escaping @Sendable ([String: SourcePosition]) -> Void = { _ in },
         onFatal: @escaping @Sendable (any Error) -> Void = { _ in }) {
        inner = Mutex(Inner(machine: TransactionState(maxRecords: settings.maxRecords,
                                                      maxInterval: settings.maxInterval, committed: committed)))
        self.producer = producer
        self.offsetsTopic = offsetsTopic
        self.liveness = liveness
        self.logger = logger
        self.commitTimeout = commitTimeout
        self.onCommit = onCommit
        self.onFatal = onFatal
    }

    /// Bumped by every abort; a reader remembers the one it started in.
    var generation: Int { inner.withLock { $0.machine.generation } }

    /// Positions of the last committed transaction.
    var committed: [String: SourcePosition] { inner.withLock { $0.machine.committed } }

    // MARK: readers

    /// Lets `rows` rows into the open transaction, waiting while it commits. Throws ``TransactionRewind`` when
    /// the reader's generation was aborted, or the error that stopped the source.
    func admit(rows: Int = 1, generation: Int) async throws {
        while true {
            let (admission, failure, becameDue) = inner.withLock { inner -> (TransactionState.Admission, (any Error)?, Bool) in
                let admission = inner.machine.admit(rows: rows, generation: generation, now: .now)
                return (admission, inner.failure, admission == .admitted && inner.machine.phase == .closing)
            }
            switch admission {
            case .admitted:
                if becameDue { wake.set() }
                return
            case .rewind:
                throw TransactionRewind()
            case .finished:
                throw failure ?? KafkaError.shutDown("produce in a transaction")
            case .wait:
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let parked = inner.withLock { inner -> Bool in
                        guard inner.machine.phase == .closing else { return false }
                        inner.gateWaiters.append(continuation)
                        return true
                    }
                    if !parked { continuation.resume() }
                }
            }
        }
    }

    /// Ends an admission with the table's position after its rows; nil when they could not be produced (the
    /// transaction will be aborted).
    func release(table: String, position: SourcePosition?) {
        release(positions: position.map { [table: $0] })
    }

    /// Ends an admission of rows of several tables (an emulator event).
    func release(positions: [String: SourcePosition]?) {
        let quiet = inner.withLock { $0.machine.release(positions: positions) }
        if quiet || positions == nil { wake.set() }
    }

    /// A delivery of the open transaction failed: abort it instead of committing.
    func poison() {
        inner.withLock { $0.machine.poison() }
        wake.set()
    }

    /// Waits until the rows the reader released so far are committed: returns then, throws
    /// ``TransactionRewind`` when they were aborted (or the error that stopped the source).
    func waitUntilCommitted(generation: Int) async throws {
        let target = try inner.withLock { inner throws -> Int? in
            if let failure = inner.failure { throw failure }
            if inner.machine.generation != generation { throw TransactionRewind() }
            guard inner.machine.records > 0 else { return nil }
            inner.machine.requestCommit()
            return inner.machine.ended + 1
        }
        guard let target else { return }
        wake.set()
        try await waitForEnd { $0.ended >= target || $0.generation != generation }
        if self.generation != generation { throw TransactionRewind() }
    }

    /// Waits for the abort that a failed row causes, then throws ``TransactionRewind``.
    func waitForRewind(generation: Int) async throws {
        poison()
        try await waitForEnd { $0.generation != generation }
        throw TransactionRewind()
    }

    /// Parks until `ended` holds (checked after every transaction end), or the coordinator stops.
    private func waitForEnd(_ ended: @escaping @Sendable (TransactionState) -> Bool) async throws {
        while true {
            let (done, failure) = inner.withLock { inner in
                (ended(inner.machine) || inner.machine.phase == .finished, inner.failure)
            }
            if let failure { throw failure }
            if done { return }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let parked = inner.withLock { inner -> Bool in
                    guard !ended(inner.machine), inner.machine.phase != .finished else { return false }
                    inner.endWaiters.append(continuation)
                    return true
                }
                if !parked { continuation.resume() }
            }
        }
    }

    /// No more rows will come: `run()` commits what is open and returns.
    func requestStop() {
        inner.withLock { $0.machine.requestStop() }
        wake.set()
    }

    /// Stops the coordinator with `error`: every waiting and future reader gets it.
    func fail(_ error: any Error) {
        let waiters = inner.withLock { inner -> [CheckedContinuation<Void, Never>] in
            if inner.failure == nil { inner.failure = error }
            inner.machine.finish()
            defer { inner.gateWaiters = []; inner.endWaiters = [] }
            return inner.gateWaiters + inner.endWaiters
        }
        waiters.forEach { $0.resume() }
        wake.set()
    }

    // MARK: the committer

    /// Commits (or aborts) transactions as they become due until `requestStop()`, then commits the last one.
    /// Throws the fatal error that ended the source.
    func run() async throws {
        do {
            while let stop = await waitUntilDue() {
                try await endTransaction()
                if stop { break }
            }
            let waiters = inner.withLock { inner -> [CheckedContinuation<Void, Never>] in
                inner.machine.finish()
                defer { inner.gateWaiters = []; inner.endWaiters = [] }
                return inner.gateWaiters + inner.endWaiters
            }
            waiters.forEach { $0.resume() }
        } catch {
            fail(error)
            onFatal(error)
            throw error
        }
    }

    /// Waits (beating) until the open transaction is due; returns whether the source is stopping, or nil when
    /// it stopped with nothing left to commit.
    private func waitUntilDue() async -> Bool? {
        while true {
            liveness.beat()
            wake.reset()
            let (due, stopping, empty, dueAt, finished) = inner.withLock { inner in
                (inner.machine.isDue(now: .now), inner.machine.stopRequested, inner.machine.records == 0,
                 inner.machine.dueAt, inner.machine.phase == .finished)
            }
            if finished { return nil }
            if due { return stopping }
            if stopping && empty { return nil }
            let wait = dueAt.map { min(liveness.tick, max(.zero, $0 - .now)) } ?? liveness.tick
            await sleepOrWake(wait)
            if Task.isCancelled { return nil }
        }
    }

    /// Closes the gate, waits until no row is in flight between admit and release, then commits with the
    /// positions, or aborts. Opens the gate again afterwards.
    private func endTransaction() async throws {
        _ = inner.withLock { $0.machine.close() }
        let closedAt = ContinuousClock.now
        while true {
            liveness.beat()
            wake.reset()
            if inner.withLock({ $0.machine.isQuiet }) { break }
            await sleepOrWake(liveness.tick)
        }
        let (positions, poisoned, records) = inner.withLock {
            ($0.machine.positionsToCommit(), $0.machine.poisoned, $0.machine.records)
        }
        let quietAt = ContinuousClock.now
        var failure: KafkaError?
        if !poisoned {
            do throws(KafkaError) {
                try await commit(positions)
            } catch {
                failure = error
            }
        }
        if !poisoned && failure == nil {
            let (committed, waiters) = inner.withLock { inner -> ([String: SourcePosition], [CheckedContinuation<Void, Never>]) in
                inner.machine.committedTransaction()
                defer { inner.gateWaiters = []; inner.endWaiters = [] }
                return (inner.machine.committed, inner.gateWaiters + inner.endWaiters)
            }
            commits.add(1, ordering: .relaxed)
            let end = ContinuousClock.now
            logger.debug("Transaction committed", metadata: [
                "records": "\(records)", "positions": "\(positions)",
                "gate_closed": "\(ValueParsers.format(end - closedAt))", "commit": "\(ValueParsers.format(end - quietAt))",
            ])
            onCommit(committed)
            try beginNext()
            waiters.forEach { $0.resume() }
            return
        }
        if let failure, failure.isFatal || !(failure.requiresAbort || failure.isRetriable) {
            throw failure
        }
        // Abortable: drop the transaction, then every reader starts over from the committed positions.
        logger.warning("Transaction aborted; the tables are read again from the last committed position",
                       metadata: [LogKey.error: "\(failure.map { "\($0)" } ?? "a row could not be produced")",
                                  LogKey.records: "\(records)"])
        try await liveness.whileWaiting { () async throws(KafkaError) in
            try await producer.abortTransaction(timeout: commitTimeout)
        }
        aborts.add(1, ordering: .relaxed)
        let waiters = inner.withLock { inner -> [CheckedContinuation<Void, Never>] in
            inner.machine.abortedTransaction()
            defer { inner.gateWaiters = []; inner.endWaiters = [] }
            return inner.gateWaiters + inner.endWaiters
        }
        try beginNext()
        waiters.forEach { $0.resume() }
    }

    /// Returns after `duration`, or earlier when `wake` is set.
    private func sleepOrWake(_ duration: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [clock = liveness.clock] in try? await clock.sleep(for: duration) }
            group.addTask { await self.wake.wait() }
            await group.next()
            group.cancelAll()
        }
    }

    private func beginNext() throws {
        guard !inner.withLock({ $0.machine.stopRequested }) else { return }
        try producer.beginTransaction()
    }

    /// Writes the positions into the open transaction and commits it; a retriable commit error is retried.
    private func commit(_ positions: [String: SourcePosition]) async throws(KafkaError) {
        for (table, position) in positions.sorted(by: { $0.key < $1.key }) {
            try await producer.produce(topic: offsetsTopic, key: Array(table.utf8), value: position.encoded()) { _ in }
        }
        try await producer.commitTransactionRetrying(timeout: commitTimeout, liveness: liveness, logger: logger)
    }
}

extension KafkaProducer {
    /// Commits the open transaction, beating `liveness` while it waits; a retriable error that does not require
    /// an abort (a timeout) is retried up to 5 times.
    func commitTransactionRetrying(timeout: Duration, liveness: ActorLiveness, logger: Logger) async throws(KafkaError) {
        var attempt = 0
        while true {
            do {
                try await liveness.whileWaiting { () async throws(KafkaError) in
                    try await self.commitTransaction(timeout: timeout)
                }
                return
            } catch where error.isRetriable && !error.requiresAbort && attempt < 5 {
                attempt += 1
                logger.warning("Transaction commit failed; retrying", metadata: [LogKey.error: "\(error)"])
            }
        }
    }
}

/// The limits of one transaction (from `kafka.transaction`).
struct TransactionLimits: Sendable {
    var maxRecords: Int
    var maxInterval: Duration
}
