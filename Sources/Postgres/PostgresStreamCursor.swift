import CLibPQ
import Support
import Synchronization

/// The state of one stream iteration: a server-side cursor and the FETCH running ahead.
///
/// - Important: At most one FETCH is outstanding and the previous batch has already been handed out, so at
///   most two batches of a stream exist at once (the caller's and the prefetched one).
final class PostgresStreamCursor: Sendable {
    private enum Phase {
        case notStarted
        case open(pending: PostgresFetchFuture, ownsTransaction: Bool)
        case finished
    }

    private let phase = Mutex<Phase>(.notStarted)
    let connection: PostgresConnection
    let sql: String
    let params: [String?]
    let fetchSize: Int
    let tracker: PostgresBatchTracker
    let name: String

    init(connection: PostgresConnection, sql: String, params: [String?], fetchSize: Int, tracker: PostgresBatchTracker) {
        self.connection = connection
        self.sql = sql
        self.params = params
        self.fetchSize = fetchSize
        self.tracker = tracker
        self.name = connection.nextCursorName()
    }

    deinit {
        // Abandoned mid-stream (break, throw, cancellation): close the cursor after the outstanding FETCH.
        if case .open(_, let owns) = phase.withLock({ $0 }) {
            let core = connection.core
            let name = self.name
            connection.worker.submit { Self.close(core: core, name: name, ownsTransaction: owns) }
        }
    }

    func next() async throws(PostgresError) -> PostgresRowBatch? {
        let current = phase.withLock { $0 }
        let outcome: PostgresFetchFuture.Value
        switch current {
        case .finished:
            return nil
        case .notStarted:
            let (sql, params, name, fetchSize, tracker) = (self.sql, self.params, self.name, self.fetchSize, self.tracker)
            outcome = await connection.perform("opening a cursor") { core in
                Self.start(core: core, sql: sql, params: params, name: name, fetchSize: fetchSize, tracker: tracker)
            }
        case .open(let pending, _):
            outcome = await pending.value()
        }

        switch outcome {
        case .failure(let error):
            phase.withLock { $0 = .finished }
            throw error
        case .success(let fetched):
            if fetched.finished {
                phase.withLock { $0 = .finished }
                return fetched.batch
            }
            if Task.isCancelled {
                let core = connection.core
                let name = self.name
                let owns = fetched.ownsTransaction
                phase.withLock { $0 = .finished }
                connection.worker.submit { Self.close(core: core, name: name, ownsTransaction: owns) }
                throw PostgresConnection.cancelledError(during: "streaming rows")
            }
            let future = prefetch(ownsTransaction: fetched.ownsTransaction)
            phase.withLock { $0 = .open(pending: future, ownsTransaction: fetched.ownsTransaction) }
            return fetched.batch
        }
    }

    /// Queues the next FETCH on the worker thread.
    private func prefetch(ownsTransaction: Bool) -> PostgresFetchFuture {
        let future = PostgresFetchFuture()
        let (core, name, fetchSize, tracker) = (connection.core, self.name, self.fetchSize, self.tracker)
        let accepted = connection.worker.submit {
            future.complete(Self.fetch(core: core, name: name, fetchSize: fetchSize, tracker: tracker, ownsTransaction: ownsTransaction))
        }
        if !accepted { future.complete(.failure(PostgresConnection.closedError("FETCH"))) }
        return future
    }

    // MARK: Worker-thread steps

    private static func start(
        core: PostgresConnectionCore, sql: String, params: [String?], name: String, fetchSize: Int,
        tracker: PostgresBatchTracker
    ) -> PostgresFetchFuture.Value {
        let owns = core.isIdle
        if owns, case .failure(let error) = core.command("BEGIN READ ONLY") {
            return .failure(error)
        }
        if case .failure(var error) = core.command("DECLARE \(name) NO SCROLL CURSOR FOR \(sql)", params) {
            close(core: core, name: name, ownsTransaction: owns)
            error.query = sql
            return .failure(error)
        }
        return fetch(core: core, name: name, fetchSize: fetchSize, tracker: tracker, ownsTransaction: owns)
    }

    private static func fetch(
        core: PostgresConnectionCore, name: String, fetchSize: Int, tracker: PostgresBatchTracker, ownsTransaction: Bool
    ) -> PostgresFetchFuture.Value {
        switch core.exec("FETCH FORWARD \(fetchSize) FROM \(name)", []) {
        case .failure(let error):
            close(core: core, name: name, ownsTransaction: ownsTransaction)
            return .failure(error)
        case .success(let result):
            let rows = Int(PQntuples(result))
            let finished = rows < fetchSize
            if finished {
                let end = ownsTransaction ? core.command("COMMIT") : core.command("CLOSE \(name)")
                if case .failure(let error) = end {
                    PQclear(result)
                    return .failure(error)
                }
            }
            guard rows > 0 else {
                PQclear(result)
                return .success(PostgresFetchOutcome(batch: nil, finished: finished, ownsTransaction: ownsTransaction))
            }
            let batch = PostgresRowBatch(takingOwnershipOf: result, tracker: tracker)
            return .success(PostgresFetchOutcome(batch: batch, finished: finished, ownsTransaction: ownsTransaction))
        }
    }

    /// Ends the cursor: rolls back the transaction the stream opened, or closes just the cursor.
    static func close(core: PostgresConnectionCore, name: String, ownsTransaction: Bool) {
        guard core.isConnected else { return }
        if ownsTransaction {
            core.rollbackQuietly()
        } else {
            _ = core.command("CLOSE \(name)")
        }
    }
}
