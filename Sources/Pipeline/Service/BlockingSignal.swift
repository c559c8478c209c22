import Dispatch

/// A one-shot signal a plain thread can wait on (the Kafka poll thread during a revocation), set from a task.
/// Once set it stays set: every later `wait` returns true at once.
///
/// - Important: `wait` blocks its thread (a semaphore, no polling): only for threads outside the cooperative
///   pool.
final class BlockingSignal: Sendable {
    private let semaphore = DispatchSemaphore(value: 0)

    /// Wakes the waiter; call it once.
    func signal() { semaphore.signal() }

    /// Waits until signalled or the timeout passes; returns whether it was signalled.
    func wait(timeout: Duration) -> Bool {
        let nanoseconds = timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
        guard semaphore.wait(timeout: .now() + .nanoseconds(Int(max(0, nanoseconds)))) == .success else { return false }
        semaphore.signal()  // leave it set for the next waiter
        return true
    }
}
