import Synchronization

/// A one-way "stop now, gracefully" flag that actors poll in their loops and can await.
public final class ShutdownSignal: Sendable {
    private let state = Mutex<(triggered: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    public init() {}

    public var isTriggered: Bool { state.withLock { $0.triggered } }

    public func trigger() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard !state.triggered else { return [] }
            state.triggered = true
            defer { state.waiters = [] }
            return state.waiters
        }
        waiters.forEach { $0.resume() }
    }

    /// Returns once triggered.
    public func wait() async {
        await withCheckedContinuation { continuation in
            let now = state.withLock { state -> Bool in
                if state.triggered { return true }
                state.waiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// Sleeps for `duration` or until triggered (checked every 50 ms); returns true when triggered.
    public func sleep(for duration: Duration) async -> Bool {
        let deadline = ContinuousClock.now + duration
        while !isTriggered, !Task.isCancelled {
            let left = deadline - .now
            if left <= .zero { break }
            try? await Task.sleep(for: min(left, .milliseconds(50)))
        }
        return isTriggered
    }
}
