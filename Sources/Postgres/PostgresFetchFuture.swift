import Synchronization

/// What one FETCH produced: its rows (nil when none) and whether the cursor is done and closed.
struct PostgresFetchOutcome: Sendable {
    var batch: PostgresRowBatch?
    var finished: Bool
    var ownsTransaction: Bool
}

/// The result of a FETCH running ahead on the worker thread, awaited by the stream's next `next()`.
final class PostgresFetchFuture: Sendable {
    typealias Value = Result<PostgresFetchOutcome, PostgresError>

    private enum State {
        case pending
        case waiting(CheckedContinuation<Value, Never>)
        case done(Value)
        case taken
    }

    private let state = Mutex<State>(.pending)

    /// Called once by the worker job.
    func complete(_ value: Value) {
        let waiter: CheckedContinuation<Value, Never>? = state.withLock { state in
            switch state {
            case .pending:
                state = .done(value)
                return nil
            case .waiting(let continuation):
                state = .taken
                return continuation
            case .done, .taken:
                preconditionFailure("PostgresFetchFuture completed twice")
            }
        }
        waiter?.resume(returning: value)
    }

    /// Waits for the value and hands it over (the future keeps no reference to the batch afterwards).
    func value() async -> Value {
        await withCheckedContinuation { continuation in
            let ready: Value? = state.withLock { state in
                switch state {
                case .pending:
                    state = .waiting(continuation)
                    return nil
                case .done(let value):
                    state = .taken
                    return value
                case .waiting, .taken:
                    preconditionFailure("PostgresFetchFuture awaited twice")
                }
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
