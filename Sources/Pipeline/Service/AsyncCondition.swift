import Synchronization

/// A condition tasks can wait for without polling: `wait()` parks a continuation until `set()`, or until the
/// waiting task is cancelled. `reset()` makes later waits park again.
public final class AsyncCondition: Sendable {
    private struct State {
        var isSet: Bool
        var nextID = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    private let state: Mutex<State>

    public init(isSet: Bool = false) {
        state = Mutex(State(isSet: isSet))
    }

    public var isSet: Bool { state.withLock { $0.isSet } }

    /// Sets the condition and resumes every waiter; returns false when it was set already.
    @discardableResult
    public func set() -> Bool {
        let (changed, waiters) = state.withLock { state -> (Bool, [CheckedContinuation<Void, Never>]) in
            guard !state.isSet else { return (false, []) }
            state.isSet = true
            defer { state.waiters = [:] }
            return (true, Array(state.waiters.values))
        }
        waiters.forEach { $0.resume() }
        return changed
    }

    public func reset() { state.withLock { $0.isSet = false } }

    /// Returns once the condition is set, or once the calling task is cancelled.
    public func wait() async {
        let id = state.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.isSet || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}
