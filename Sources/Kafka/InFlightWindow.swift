/// The producer's backpressure decision: at most `limit` records between `produce` and their delivery report.
///
/// A pure state machine (no locks, no I/O): the producer keeps it under a mutex and performs the returned
/// actions (resume a waiter) outside the lock. Slots are handed over first-come-first-served: a released
/// slot goes to the oldest waiter rather than back to the pool, so a waiter cannot starve.
struct InFlightWindow<Waiter> {
    let limit: Int
    private(set) var inFlight = 0
    private(set) var highWatermark = 0
    private var waiters: [Waiter] = []
    private var waitersHead = 0
    private(set) var isClosed = false

    init(limit: Int) {
        precondition(limit > 0, "the in-flight limit must be positive")
        self.limit = limit
    }

    var waitingCount: Int { waiters.count - waitersHead }

    /// True when the next `tryAcquire` would fail: every slot is taken or someone already waits.
    var isFull: Bool { inFlight >= limit || waitingCount > 0 }

    enum AcquireResult {
        /// A slot was taken; go ahead.
        case acquired
        /// No slot: park the waiter (it has been queued) until `release` hands it one.
        case wait
        /// The window was closed (shutdown).
        case closed
    }

    /// Takes a slot when one is free and nobody is queued before us; otherwise queues `waiter`.
    mutating func acquire(orEnqueue waiter: @autoclosure () -> Waiter) -> AcquireResult {
        if isClosed { return .closed }
        if inFlight < limit && waitingCount == 0 {
            take()
            return .acquired
        }
        waiters.append(waiter())
        return .wait
    }

    /// Takes a slot only if one is free right now (fast path, no waiter involved).
    mutating func tryAcquire() -> Bool {
        guard !isClosed, inFlight < limit, waitingCount == 0 else { return false }
        take()
        return true
    }

    /// Takes up to `count` slots that are free right now (none when someone waits); returns how many it took.
    mutating func tryAcquire(upTo count: Int) -> Int {
        guard !isClosed, waitingCount == 0, count > 0 else { return 0 }
        let taken = min(count, limit - inFlight)
        guard taken > 0 else { return 0 }
        inFlight += taken
        if inFlight > highWatermark { highWatermark = inFlight }
        return taken
    }

    /// A record was acknowledged (or failed, or was never enqueued). Returns the waiter that now owns the slot.
    mutating func release() -> Waiter? {
        precondition(inFlight > 0, "release without acquire")
        inFlight -= 1
        guard waitingCount > 0, !isClosed else { return nil }
        let waiter = waiters[waitersHead]
        waitersHead += 1
        if waitersHead > 64 && waitersHead * 2 > waiters.count {
            waiters.removeFirst(waitersHead)
            waitersHead = 0
        }
        take()
        return waiter
    }

    /// Refuses new records; returns every parked waiter so it can be told.
    mutating func close() -> [Waiter] {
        isClosed = true
        let parked = Array(waiters[waitersHead...])
        waiters = []
        waitersHead = 0
        return parked
    }

    private mutating func take() {
        inFlight += 1
        if inFlight > highWatermark { highWatermark = inFlight }
    }
}
