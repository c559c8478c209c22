import Synchronization

/// ``RestAdmissionWindow`` behind a lock, with continuations: `acquire` returns false when no room came within
/// the timeout; `waitUntilIdle` returns once nothing is in flight (the drain), or false at its timeout.
final class RestAdmission: Sendable {
    private struct State {
        var window: RestAdmissionWindow<CheckedContinuation<Bool, Never>>
        var idleWaiters: [UInt64: CheckedContinuation<Bool, Never>] = [:]
        var nextIdleID: UInt64 = 0
    }

    private let state: Mutex<State>

    init(limit: Int) {
        state = Mutex(State(window: RestAdmissionWindow(limit: limit)))
    }

    var inUse: Int { state.withLock { $0.window.inUse } }
    var limit: Int { state.withLock { $0.window.limit } }

    /// Room for `count` records, waiting at most `timeout` (then false: the caller answers 50003).
    func acquire(_ count: Int, timeout: Duration) async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let result = state.withLock { $0.window.acquire(count, orEnqueue: continuation) }
            switch result {
            case .acquired:
                continuation.resume(returning: true)
            case .wait(let id):
                // The timer is a task of its own: the waiter's task is suspended in this continuation.
                Task { [self] in
                    try? await Task.sleep(for: timeout)
                    state.withLock { $0.window.timeOut(id) }?.resume(returning: false)
                }
            }
        }
    }

    func release(_ count: Int) {
        let (granted, idle) = state.withLock { state in
            let granted = state.window.release(count)
            guard state.window.inUse == 0 else { return (granted, [CheckedContinuation<Bool, Never>]()) }
            defer { state.idleWaiters.removeAll() }
            return (granted, Array(state.idleWaiters.values))
        }
        for waiter in granted { waiter.resume(returning: true) }
        for waiter in idle { waiter.resume(returning: true) }
    }

    /// Returns true once no record is in flight, false if that took longer than `timeout`.
    func waitUntilIdle(timeout: Duration) async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let id: UInt64? = state.withLock { state in
                guard state.window.inUse > 0 else { return nil }
                state.nextIdleID += 1
                state.idleWaiters[state.nextIdleID] = continuation
                return state.nextIdleID
            }
            guard let id else {
                continuation.resume(returning: true)
                return
            }
            Task { [self] in
                try? await Task.sleep(for: timeout)
                state.withLock { $0.idleWaiters.removeValue(forKey: id) }?.resume(returning: false)
            }
        }
    }
}
