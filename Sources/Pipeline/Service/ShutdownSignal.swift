/// A one-way "stop now, gracefully" flag that actors check in their loops and can await.
///
/// Waiting never polls: `wait()` parks a continuation that `trigger()` (or the waiting task's cancellation)
/// resumes. Timed waits that also end on shutdown are `ActorLiveness.sleep(for:or:)`, on the injected clock.
public final class ShutdownSignal: Sendable {
    private let condition = AsyncCondition()

    public init() {}

    public var isTriggered: Bool { condition.isSet }

    public func trigger() { condition.set() }

    /// Returns once triggered, or once the calling task is cancelled.
    public func wait() async { await condition.wait() }
}
