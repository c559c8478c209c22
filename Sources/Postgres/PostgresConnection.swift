import CLibPQ
import Support
import Foundation
import Logging
import Synchronization

/// One PostgreSQL connection with its own dedicated thread; every libpq call runs on it, bridged with
/// continuations.
///
/// - Important: Statements run one at a time in submission order. A connection serves one caller at a time:
///   while a `stream` is being iterated, other statements on the same connection would run inside the
///   stream's read-only transaction.
public final class PostgresConnection: Sendable {
    public let parameters: PostgresConnectionParameters
    /// The server's version number, e.g. 150018 for 15.18 (`PQserverVersion`).
    public let serverVersion: Int

    let worker: BlockingExecutor
    let core: PostgresConnectionCore
    private let cancelHandle: PostgresCancelHandle?
    private let logger: Logger
    private let connected: Atomic<Bool>
    private let closed: Atomic<Bool>
    private let cursorCounter: Atomic<Int>

    private init(
        parameters: PostgresConnectionParameters, serverVersion: Int, worker: BlockingExecutor,
        core: PostgresConnectionCore, cancelHandle: PostgresCancelHandle?, logger: Logger
    ) {
        self.parameters = parameters
        self.serverVersion = serverVersion
        self.worker = worker
        self.core = core
        self.cancelHandle = cancelHandle
        self.logger = logger
        self.connected = Atomic(true)
        self.closed = Atomic(false)
        self.cursorCounter = Atomic(0)
    }

    deinit {
        let core = self.core
        worker.submit { core.finish() }
        worker.shutdown()
    }

    // MARK: Connecting

    /// Connects once. Errors say whether a retry can help (`isRetriable`).
    public static func connect(_ parameters: PostgresConnectionParameters, logger: Logger) async throws(PostgresError)
        -> PostgresConnection
    {
        try validate(parameters)
        if Task.isCancelled { throw cancelledError(during: "connecting to \(parameters.endpoint)") }
        let worker = BlockingExecutor(name: "postgres")
        let core = PostgresConnectionCore(parameters: parameters)
        logger.debug("connecting to PostgreSQL", metadata: [PostgresLogKey.server: "\(parameters)"])
        let outcome = await worker.run(orIfShutDown: .failure(closedError(nil))) { core.open() }
        switch outcome {
        case .success(let (serverVersion, cancelHandle)):
            logger.debug(
                "connected to PostgreSQL",
                metadata: [
                    PostgresLogKey.server: "\(parameters)",
                    PostgresLogKey.serverVersion: "\(PostgresLibrary.versionString(serverVersion))",
                ])
            return PostgresConnection(
                parameters: parameters, serverVersion: serverVersion, worker: worker, core: core,
                cancelHandle: cancelHandle, logger: logger)
        case .failure(let error):
            worker.shutdown()
            throw error
        }
    }

    /// Connects, retrying retriable failures with exponential backoff and jitter up to `retry.maxAttempts`
    /// (nil: forever), logging each retry at warning with the reason. Non-retriable errors throw at once.
    /// The waits run on `clock`.
    public static func connect(
        _ parameters: PostgresConnectionParameters, retry: RetryPolicy, logger: Logger,
        clock: PipelineClock = .continuous
    ) async throws(PostgresError) -> PostgresConnection {
        var attempt = 1
        while true {
            do {
                return try await connect(parameters, logger: logger)
            } catch {
                guard error.isRetriable, retry.shouldRetry(afterAttempt: attempt) else {
                    if error.isRetriable {
                        // The caller decides how loud giving up is; it gets the error.
                        logger.debug(
                            "giving up connecting to PostgreSQL after \(attempt) attempts",
                            metadata: [PostgresLogKey.server: "\(parameters)", PostgresLogKey.error: "\(error)"])
                    }
                    throw error
                }
                let delay = retry.delay(afterAttempt: attempt, unit: Double.random(in: 0...1))
                logger.warning(
                    "cannot connect to PostgreSQL, retrying in \(delay)",
                    metadata: [
                        PostgresLogKey.server: "\(parameters)", PostgresLogKey.error: "\(error.message)",
                        PostgresLogKey.attempt: "\(attempt)",
                    ])
                do {
                    try await clock.sleep(for: delay)
                } catch {
                    throw cancelledError(during: "connecting to \(parameters.endpoint)")
                }
                attempt += 1
            }
        }
    }

    /// Checks what libpq would otherwise report late or confusingly.
    static func validate(_ p: PostgresConnectionParameters) throws(PostgresError) {
        guard PostgresConnectionParameters.sslModes.contains(p.sslMode) else {
            throw PostgresError(
                code: .invalidConfiguration,
                message: "unknown sslmode \"\(p.sslMode)\" — use one of disable, allow, prefer, require, verify-ca, verify-full")
        }
        guard (1...65535).contains(p.port) else {
            throw PostgresError(code: .invalidConfiguration, message: "port \(p.port) is out of range — check PORT in db_creds.yaml")
        }
        if p.sslMode == "verify-ca" || p.sslMode == "verify-full" {
            guard let root = p.sslRootCert, !root.isEmpty else {
                throw PostgresError(
                    code: .invalidConfiguration,
                    message: "sslmode \(p.sslMode) needs a CA file to verify the server — set sslRootCert (e.g. the RDS global bundle)")
            }
            guard FileManager.default.isReadableFile(atPath: root) else {
                throw PostgresError(
                    code: .invalidConfiguration,
                    message: "the CA file \(root) for sslmode \(p.sslMode) does not exist or is not readable — check sslRootCert")
            }
        }
    }

    // MARK: Statements

    /// Runs one statement with text parameters (`$1`, `$2`, ...; nil is NULL) and returns its rows.
    public func query(_ sql: String, _ params: [String?] = []) async throws(PostgresError) -> PostgresRowBatch {
        try await perform(sql) { core in
            core.exec(sql, params).map { PostgresRowBatch(takingOwnershipOf: $0) }
        }.get()
    }

    /// Runs a command (or, without parameters, a semicolon-separated script); returns when it is done.
    public func execute(_ sql: String, _ params: [String?] = []) async throws(PostgresError) {
        try await perform(sql) { core in core.command(sql, params) }.get()
    }

    /// Streams a large result with bounded memory: BEGIN READ ONLY, DECLARE a cursor, FETCH `fetchSize` rows
    /// at a time. The next FETCH runs while the caller processes the current batch, so at most two batches
    /// are in memory. The transaction commits at the end; cancelling, throwing or abandoning the iteration
    /// closes the cursor. If a transaction is already open, the cursor lives in it and only the cursor is
    /// closed.
    public func stream(_ sql: String, _ params: [String?] = [], fetchSize: Int = 5_000) -> PostgresRowStream {
        PostgresRowStream(connection: self, sql: sql, params: params, fetchSize: max(fetchSize, 1))
    }

    /// Whether the connection is up (`PQstatus` after the last operation).
    public var isConnected: Bool { connected.load(ordering: .relaxed) && !closed.load(ordering: .relaxed) }

    /// Closes the connection and stops its thread. Later calls fail with `.connectionClosed`.
    public func close() async {
        guard !closed.exchange(true, ordering: .relaxed) else { return }
        let core = self.core
        _ = await worker.run(orIfShutDown: ()) { core.finish() }
        worker.shutdown()
        connected.store(false, ordering: .relaxed)
        logger.debug("closed PostgreSQL connection", metadata: [PostgresLogKey.server: "\(parameters)"])
    }

    // MARK: Running jobs

    /// Runs `body` on the worker thread; task cancellation skips a queued job or cancels the running
    /// statement on the server (`PQcancel`).
    func perform<T: Sendable>(
        _ what: String, _ body: @escaping @Sendable (PostgresConnectionCore) -> Result<T, PostgresError>
    ) async -> Result<T, PostgresError> {
        if Task.isCancelled { return .failure(Self.cancelledError(during: what)) }
        let core = self.core
        let cancelled = CancellationFlag()
        let worker = self.worker
        let (result, isUp) = await withTaskCancellationHandler {
            await worker.run(orIfShutDown: (Result<T, PostgresError>.failure(Self.closedError(what)), false)) {
                if cancelled.isSet { return (.failure(Self.cancelledError(during: what)), core.isConnected) }
                let result = body(core)
                return (result, core.isConnected)
            }
        } onCancel: {
            cancelled.set()
            cancelHandle?.cancel()
        }
        connected.store(isUp, ordering: .relaxed)
        if case .failure(let error) = result, error.code == .connectionLost {
            logger.debug("PostgreSQL connection lost", metadata: [PostgresLogKey.error: "\(error)"])
        }
        return result
    }

    func nextCursorName() -> String {
        "pinpipe_cursor_\(cursorCounter.add(1, ordering: .relaxed).newValue)"
    }

    static func closedError(_ query: String?) -> PostgresError {
        PostgresError(code: .connectionClosed, message: "the PostgreSQL connection is closed", query: query)
    }

    static func cancelledError(during what: String) -> PostgresError {
        PostgresError(code: .cancelled, message: "cancelled while \(what)")
    }
}

/// Set once when the awaiting task is cancelled, read by the job before it starts.
final class CancellationFlag: Sendable {
    private let value = Atomic(false)
    func set() { value.store(true, ordering: .relaxed) }
    var isSet: Bool { value.load(ordering: .relaxed) }
}
