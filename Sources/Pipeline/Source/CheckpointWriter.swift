import Foundation
import Logging
import Support
import Synchronization

/// Saves the checkpoint on a thread of its own each time it moved: after every batch of acknowledgements
/// (at-least-once) or every commit (exactly-once), never on a timer. Saves that come faster than the disk
/// coalesce: the thread saves the newest keys once it is free again.
///
/// - Important: `stop()` saves the final keys before it returns. The store's write is atomic and fsync'ed,
///   which is why it runs here and not on the cooperative pool.
final class CheckpointWriter: Sendable {
    private struct State {
        /// A save is queued and has not read the keys yet: later marks ride along with it.
        var queued = false
        var stopped = false
        var saves = 0
        var last: [String: Int64]?
    }

    private let store: CheckpointStore
    private let snapshot: @Sendable () -> [String: Int64]
    private let onError: @Sendable (any Error) -> Void
    private let onSaved: @Sendable ([String]) -> Void
    private let state: Mutex<State>
    private let thread = BlockingExecutor(name: "checkpoint")

    /// `snapshot` returns the keys to save (called on the writer's thread).
    /// `onSaved` gets the tables of each saved file (for the checkpoint-age metric).
    init(store: CheckpointStore, snapshot: @escaping @Sendable () -> [String: Int64],
         onError: @escaping @Sendable (any Error) -> Void, onSaved: @escaping @Sendable ([String]) -> Void = { _ in }) {
        self.store = store
        self.snapshot = snapshot
        self.onError = onError
        self.onSaved = onSaved
        self.state = Mutex(State(last: try? store.load()))
    }

    /// Number of files written so far.
    var saves: Int { state.withLock { $0.saves } }

    /// The keys moved: save them soon. Cheap and callable from any thread (e.g. a delivery callback).
    func markDirty() {
        let submit = state.withLock { state -> Bool in
            guard !state.queued, !state.stopped else { return false }
            state.queued = true
            return true
        }
        if submit { thread.submit { [self] in save() } }
    }

    /// Saves the last keys, then ends the thread. Idempotent.
    func stop() async {
        let first = state.withLock { state -> Bool in
            defer { state.stopped = true }
            return !state.stopped
        }
        if first { thread.submit { [self] in save() } }
        await thread.shutdownAndWait()
    }

    /// On the writer's thread: the newest keys, saved when they changed.
    private func save() {
        let last = state.withLock { state -> [String: Int64]? in
            state.queued = false
            return state.last
        }
        let keys = snapshot()
        guard keys != last, !keys.isEmpty else { return }
        do {
            try store.save(keys)
            state.withLock {
                $0.last = keys
                $0.saves += 1
            }
            onSaved(Array(keys.keys))
        } catch {
            onError(error)
        }
    }
}
