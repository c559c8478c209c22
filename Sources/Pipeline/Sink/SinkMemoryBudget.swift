import Support
import Synchronization

/// The bytes the sink's batches hold (open, queued and in flight) and the emptied bodies the partitions keep for
/// their next batch (spare), against a limit.
///
/// Partition writers report what they add, seal and release; the sink loop stops taking records while the total
/// is over the limit, which backs up the bounded channel and pauses the consumer. Waiters wake at every release.
final class SinkMemoryBudget: Sendable {
    let limit: Int
    private let state = Mutex(State())

    private struct State {
        var open = 0
        var sealed = 0
        var spare = 0
        var total: Int { open + sealed + spare }
        var peak = 0
        var generation = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    init(limit: Int) {
        self.limit = limit
    }

    /// Bytes in open batches, in sealed ones (queued or being stored) and in spare bodies.
    var usage: (open: Int, sealed: Int, spare: Int) { state.withLock { ($0.open, $0.sealed, $0.spare) } }

    /// The most the batches held at once.
    var peak: Int { state.withLock { $0.peak } }

    var isOverLimit: Bool { state.withLock { $0.total > limit } }

    /// Whether `bytes` more would stay within the limit (a partition keeps a spare body only then).
    func hasRoom(for bytes: Int) -> Bool { state.withLock { $0.total + bytes <= limit } }

    /// Bumped at every release; pass it to ``waitForRelease(after:timeout:)`` to miss none.
    var generation: Int { state.withLock { $0.generation } }

    /// Records a change of the open, sealed and spare bytes; a decrease of the total wakes the waiters.
    func adjust(open: Int, sealed: Int, spare: Int = 0) {
        guard open != 0 || sealed != 0 || spare != 0 else { return }
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open += open
            state.sealed += sealed
            state.spare += spare
            state.peak = max(state.peak, state.total)
            guard open + sealed + spare < 0 else { return [] }
            state.generation += 1
            defer { state.waiters = [] }
            return state.waiters
        }
        waiters.forEach { $0.resume() }
    }

    /// Wakes every waiter without a release (the sink is stopping).
    func wakeAll() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.generation += 1
            defer { state.waiters = [] }
            return state.waiters
        }
        waiters.forEach { $0.resume() }
    }

    /// Suspends until a release after `seen`, or at most `timeout` (so the caller can keep beating its heartbeat
    /// through a long S3 outage).
    func waitForRelease(after seen: Int, timeout: Duration, clock: PipelineClock = .continuous) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let resumeNow = self.state.withLock { state -> Bool in
                        if state.generation != seen { return true }
                        state.waiters.append(continuation)
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
            group.addTask {
                do {
                    try await clock.sleep(for: timeout)
                    self.wakeAll()
                } catch {}  // cancelled: a release came first
            }
            await group.next()
            group.cancelAll()
        }
    }
}
