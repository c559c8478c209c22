import Synchronization

/// A boolean shared between a caller and the jobs it submits.
final class AtomicFlag: Sendable {
    private let value = Atomic<Bool>(false)

    /// Sets the flag; returns whether it was set already.
    func testAndSet() -> Bool { value.exchange(true, ordering: .acquiringAndReleasing) }
    func clear() { value.store(false, ordering: .releasing) }
}
