import Synchronization

/// Counts revocations, so records polled before one can be told apart from records polled after it.
public final class AssignmentEpoch: Sendable {
    private let value = Atomic<UInt64>(0)

    public init() {}

    public var current: UInt64 { value.load(ordering: .acquiring) }

    /// Called by the rebalance callback before a revocation takes effect; returns the new epoch.
    @discardableResult
    public func advance() -> UInt64 { value.add(1, ordering: .acquiringAndReleasing).newValue }
}
