import Synchronization

/// ``RestAdmissionWindow`` behind a lock, with continuations: `acquire` returns false when no room came within
/// the timeout.
final class RestAdmission: Sendable {
    private struct State {
        var window: RestAdmissionWindow<CheckedContinuation<Bool, Never>>
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
        let granted = state.withLock { $0.window.release(count) }
        for waiter in granted { waiter.resume(returning: true) }
    }
}
