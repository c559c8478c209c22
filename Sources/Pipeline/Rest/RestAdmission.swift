import Synchronization

/// ``RestAdmissionWindow`` behind a lock, with continuations: `acquire` returns false when no room came within
/// the timeout.
final class RestAdmission: Sendable {
    private let window: Mutex<RestAdmissionWindow<CheckedContinuation<Bool, Never>>>

    init(limit: Int) {
        window = Mutex(RestAdmissionWindow(limit: limit))
    }

    var inUse: Int { window.withLock { $0.inUse } }
    var limit: Int { window.withLock { $0.limit } }

    /// Room for `count` records, waiting at most `timeout` (then false: the caller answers 50003).
    func acquire(_ count: Int, timeout: Duration) async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let result = window.withLock { $0.acquire(count, orEnqueue: continuation) }
            switch result {
            case .acquired:
                continuation.resume(returning: true)
            case .wait(let id):
                // The timer is a detached sleep: the waiter's own task is suspended in this continuation.
                Task { [self] in
                    try? await Task.sleep(for: timeout)
                    window.withLock { $0.timeOut(id) }?.resume(returning: false)
                }
            }
        }
    }

    func release(_ count: Int) {
        for waiter in window.withLock({ $0.release(count) }) { waiter.resume(returning: true) }
    }
}
