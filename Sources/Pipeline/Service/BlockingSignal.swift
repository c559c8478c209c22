import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A one-shot signal a plain thread can wait on (the Kafka poll thread during a revocation), set from a task.
final class BlockingSignal: Sendable {
    private let state = Mutex<Bool>(false)

    func signal() { state.withLock { $0 = true } }

    /// Waits until signalled or the timeout passes; returns whether it was signalled.
    /// - Important: Only for threads outside the cooperative pool: it sleeps in short steps.
    func wait(timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if state.withLock({ $0 }) { return true }
            usleep(2_000)
        }
        return state.withLock { $0 }
    }
}
