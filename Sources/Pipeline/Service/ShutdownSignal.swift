/// A one-way "stop now, gracefully" flag that actors check in their loops and can await.
///
/// Waiting never polls: `wait()` and `sleep(for:)` park a continuation that `trigger()` (or the waiting task's
/// cancellation) resumes.
public final class ShutdownSignal: Sendable {
    private let condition = AsyncCondition()

    public init() {}

    public var isTriggered: Bool { condition.isSet }

    public func trigger() { condition.set() }

    /// Returns once triggered, or once the calling task is cancelled.
    public func wait() async { await condition.wait() }

    /// Sleeps for `duration` or until triggered, whichever comes first; returns true when triggered.
    public func sleep<C: Clock>(for duration: C.Duration, clock: C = ContinuousClock()) async -> Bool
    where C.Duration == Duration {
        if isTriggered { return true }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await clock.sleep(for: duration) }
            group.addTask { await self.wait() }
            await group.next()
            group.cancelAll()
        }
        return isTriggered
    }
}
