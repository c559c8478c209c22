/// The REST endpoint's memory bound as a pure decision: at most `limit` records accepted and not yet
/// acknowledged, over all requests. A request takes room for all its records at once, first come first served;
/// one that cannot get it within the queue timeout is refused (50003) rather than queued without bound.
struct RestAdmissionWindow<Waiter> {
    let limit: Int
    private(set) var inUse = 0
    private var waiters: [(id: UInt64, count: Int, waiter: Waiter)] = []
    private var nextID: UInt64 = 0

    init(limit: Int) {
        precondition(limit > 0, "the admission limit must be positive")
        self.limit = limit
    }

    var waitingCount: Int { waiters.count }

    enum AcquireResult {
        case acquired
        /// Parked under this id; ``timeOut(_:)`` with it gives up.
        case wait(UInt64)
    }

    /// Takes `count` slots when they are free and nobody waits ahead; otherwise parks `waiter`.
    mutating func acquire(_ count: Int, orEnqueue waiter: @autoclosure () -> Waiter) -> AcquireResult {
        precondition(count > 0 && count <= limit, "a request must fit the window")
        if waiters.isEmpty && inUse + count <= limit {
            inUse += count
            return .acquired
        }
        nextID += 1
        waiters.append((nextID, count, waiter()))
        return .wait(nextID)
    }

    /// `count` slots came back; returns the waiters that now hold their slots, in order.
    mutating func release(_ count: Int) -> [Waiter] {
        precondition(count <= inUse, "release without acquire")
        inUse -= count
        var granted: [Waiter] = []
        while let first = waiters.first, inUse + first.count <= limit {
            inUse += first.count
            granted.append(first.waiter)
            waiters.removeFirst()
        }
        return granted
    }

    /// The waiter `id` gives up: returned if it was still parked (it holds nothing), nil if it was already granted.
    mutating func timeOut(_ id: UInt64) -> Waiter? {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return nil }
        let waiter = waiters.remove(at: index).waiter
        return waiter
    }
}
