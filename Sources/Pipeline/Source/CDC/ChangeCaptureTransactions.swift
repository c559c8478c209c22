import Foundation
import Kafka
import Logging
import Postgres
import Synchronization
import Support

/// An aborted Kafka transaction: the capture starts again from the last committed position.
struct ChangeCaptureRewind: Error, CustomStringConvertible {
    var reason: String
    var description: String { "the Kafka transaction was aborted (\(reason)); capturing again from the last committed position" }
}

/// Exactly-once change data capture (`kafka.exactly_once`): the capture's records and its
/// ``ChangeCapturePosition`` go into Kafka in the same transaction, so a restart after a crash skips exactly what
/// Kafka holds; the slot is confirmed only up to transactions whose records are committed.
///
/// One task drives it (the snapshot, then the stream); delivery reports arrive on librdkafka's thread.
final class ChangeCaptureTransactions: Sendable {
    private struct State {
        /// The position of the last committed Kafka transaction.
        var committed: ChangeCapturePosition
        /// The position the open Kafka transaction will commit.
        var open: ChangeCapturePosition
        /// The open transaction holds something to commit (records or a changed position).
        var dirty = false
        var records = 0
        var openedAt: ContinuousClock.Instant?
        var failure: KafkaError?
        /// WAL up to here holds nothing for the capture (no record in flight, between PostgreSQL transactions).
        var idle: PostgresLSN = .zero
    }

    private let state: Mutex<State>
    let producer: KafkaProducer
    let offsetsTopic: String
    let limits: TransactionLimits
    let liveness: ActorLiveness
    let logger: Logger
    let commits = Atomic<Int>(0)
    let aborts = Atomic<Int>(0)

    private init(position: ChangeCapturePosition, producer: KafkaProducer, offsetsTopic: String,
                 limits: TransactionLimits, liveness: ActorLiveness, logger: Logger) {
        state = Mutex(State(committed: position, open: position))
        self.producer = producer
        self.offsetsTopic = offsetsTopic
        self.limits = limits
        self.liveness = liveness
        self.logger = logger
    }

    /// Fences any older instance (its open transaction is aborted), reads the committed position from the offsets
    /// topic (or `fallback`'s when the topic has none) and begins the first transaction.
    static func start(
        source: SourceProducer, slot: String, fallback: () -> ChangeCapturePosition
    ) async throws -> ChangeCaptureTransactions {
        let kafka = source.configuration.kafka
        let clock = ContinuousClock()
        let fenced = try await clock.measure {
            try await source.liveness.whileWaiting { () async throws(KafkaError) in
                try await source.producer.initTransactions(timeout: .seconds(60))
            }
        }
        let reader = source.kafkaAccess.topicReader(logger: source.logger)
        let readStart = clock.now
        let contents = try await source.liveness.whileWaiting { () async throws(KafkaError) in
            try await reader.readAll(topic: kafka.offsetsTopic, timeout: .seconds(60))
        }
        let read = clock.now - readStart
        let key = Array(ChangeCapturePosition.key(slot: slot).utf8)
        let stored = contents.records.filter { $0.key == key }.compactMap { ChangeCapturePosition.decode($0.value) }
            .max { $0.commit < $1.commit }
        let position = stored ?? fallback()
        source.logger.info("Exactly-once CDC: capture position", metadata: [
            "cdc.slot": "\(slot)", "position": "\(position)",
            "origin": "\(stored == nil ? "none in \(kafka.offsetsTopic)" : kafka.offsetsTopic)",
            "init_transactions_ms": "\(Int(fenced / .milliseconds(1)))", "read_ms": "\(Int(read / .milliseconds(1)))",
        ])
        let transactions = ChangeCaptureTransactions(
            position: position, producer: source.producer, offsetsTopic: kafka.offsetsTopic,
            limits: TransactionLimits(maxRecords: kafka.transaction.maxRecords, maxInterval: kafka.transaction.maxInterval),
            liveness: source.liveness, logger: source.logger)
        try source.producer.beginTransaction()
        return transactions
    }

    var committed: ChangeCapturePosition { state.withLock { $0.committed } }
    var position: ChangeCapturePosition { state.withLock { $0.open } }

    /// Changes the position the open transaction will commit.
    func update(_ change: (inout ChangeCapturePosition) -> Void) {
        state.withLock {
            change(&$0.open)
            $0.dirty = true
        }
    }

    /// A record joined the open transaction; `change` says what it means for the position.
    func added(_ change: (inout ChangeCapturePosition) -> Void) {
        state.withLock {
            change(&$0.open)
            $0.records += 1
            $0.dirty = true
            if $0.openedAt == nil { $0.openedAt = .now }
        }
    }

    /// The delivery callback of a record of the open transaction: a failure means it must abort (purges are the
    /// abort's own doing).
    func delivered(_ result: Result<KafkaDeliveryReport, KafkaError>) {
        if case .failure(let error) = result, !error.isPurge {
            state.withLock { $0.failure = $0.failure ?? error }
        }
    }

    /// The open transaction reached `kafka.transaction`'s limits.
    var isDue: Bool {
        state.withLock { s in
            guard s.dirty else { return false }
            return s.records >= limits.maxRecords || s.failure != nil
                || (s.openedAt.map { ContinuousClock.now - $0 >= limits.maxInterval } ?? true)
        }
    }

    /// A PostgreSQL transaction ended at `end`: the slot may pass it once its records are committed in Kafka.
    func transactionEnded(at end: PostgresLSN) {
        state.withLock { s in
            if s.records > 0 { s.open.confirmable = end.description }
        }
        idle(at: end)
    }

    /// Records in the open transaction, not yet committed.
    var uncommitted: Int { state.withLock { $0.records } }

    /// Between PostgreSQL transactions: with nothing uncommitted, WAL up to `end` needs nothing from Kafka.
    func idle(at end: PostgresLSN) {
        state.withLock { if $0.records == 0 { $0.idle = max($0.idle, end) } }
    }

    /// How far the slot may be confirmed: the end of the last PostgreSQL transaction whose records are committed
    /// in Kafka, or further over WAL that holds nothing for the capture.
    var confirmed: PostgresLSN {
        state.withLock { max($0.committed.confirmable.flatMap { PostgresLSN($0) } ?? .zero, $0.idle) }
    }

    /// Commits the open transaction with its position (nothing when it holds nothing), then begins the next.
    /// An abortable error aborts it and throws ``ChangeCaptureRewind``; a fatal one (fenced) is thrown.
    func commit() async throws {
        let (dirty, failure, next) = state.withLock { s -> (Bool, KafkaError?, ChangeCapturePosition) in
            var next = s.open
            next.commit = s.committed.commit + 1
            return (s.dirty, s.failure, next)
        }
        guard dirty else { return }
        if let failure { try await abort(because: "\(failure)") }
        do throws(KafkaError) {
            try await producer.produce(topic: offsetsTopic, key: Array(ChangeCapturePosition.key(slot: next.slot).utf8),
                                       value: next.encoded()) { _ in }
            try await producer.commitTransactionRetrying(timeout: .seconds(60), liveness: liveness, logger: logger)
        } catch {
            if error.isFatal || !(error.requiresAbort || error.isRetriable) { throw error }
            try await abort(because: "\(error)")
        }
        state.withLock { s in
            s.committed = next
            s.open = next
            s.dirty = false
            s.records = 0
            s.openedAt = nil
        }
        commits.add(1, ordering: .relaxed)
        logger.debug("CDC transaction committed", metadata: ["position": "\(next)"])
        try producer.beginTransaction()
    }

    /// Aborts the open transaction (its records are never visible to read_committed readers), returns to the
    /// committed position and begins the next transaction; throws ``ChangeCaptureRewind``.
    func abort(because reason: String) async throws -> Never {
        logger.warning("CDC transaction aborted; capturing again from the last committed position",
                       metadata: [LogKey.error: "\(reason)", "position": "\(committed)"])
        try await liveness.whileWaiting { () async throws(KafkaError) in
            try await producer.abortTransaction(timeout: .seconds(60))
        }
        state.withLock { s in
            s.open = s.committed
            s.dirty = false
            s.records = 0
            s.openedAt = nil
            s.failure = nil
        }
        aborts.add(1, ordering: .relaxed)
        try producer.beginTransaction()
        throw ChangeCaptureRewind(reason: reason)
    }

    /// After an error outside Kafka (PostgreSQL went away): drop what the open transaction holds, so the capture
    /// resumes from the committed position. Does nothing when the transaction holds nothing.
    func rewind(because reason: String) async throws {
        guard state.withLock({ $0.dirty || $0.failure != nil }) else { return }
        do {
            try await abort(because: reason)
        } catch is ChangeCaptureRewind {}
    }
}
