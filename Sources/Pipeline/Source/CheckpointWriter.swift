import Foundation
import Logging
import Synchronization

/// Saves the checkpoint on a thread of its own each time it moved: after every batch of acknowledgements
/// (at-least-once) or every commit (exactly-once), never on a timer. Saves that come faster than the disk
/// coalesce: the thread saves the newest keys once it is free again.
///
/// - Important: `stop()` saves the final keys before it returns. The store's write is atomic and fsync'ed,
///   which is why it runs here and not on the cooperative pool.
final class CheckpointWriter: Sendable {
    private struct State {
        var dirty = false
        var stopped = false
        var saves = 0
    }

    private let store: CheckpointStore
    private let snapshot: @Sendable () -> [String: Int64]
    private let onError: @Sendable (any Error) -> Void
    private let onSaved: @Sendable ([String]) -> Void
    private let state = Mutex(State())
    private let wakeup = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    /// `snapshot` returns the keys to save (called on the writer's thread).
    /// `onSaved` gets the tables of each saved file (for the checkpoint-age metric).
    init(store: CheckpointStore, snapshot: @escaping @Sendable () -> [String: Int64],
         onError: @escaping @Sendable (any Error) -> Void, onSaved: @escaping @Sendable ([String]) -> Void = { _ in }) {
        self.store = store
        self.snapshot = snapshot
        self.onError = onError
        self.onSaved = onSaved
        let thread = Thread { [self] in loop() }
        thread.name = "pinpipe-checkpoint"
        thread.start()
    }

    /// Number of files written so far.
    var saves: Int { state.withLock { $0.saves } }

    /// The keys moved: save them soon. Cheap and callable from any thread (e.g. a delivery callback).
    func markDirty() {
        let signal = state.withLock { state -> Bool in
            guard !state.dirty, !state.stopped else { return false }
            state.dirty = true
            return true
        }
        if signal { wakeup.signal() }
    }

    /// Saves the last keys, then ends the thread. Idempotent.
    func stop() async {
        let first = state.withLock { state -> Bool in
            defer { state.stopped = true }
            return !state.stopped
        }
        if first { wakeup.signal() }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async { [finished] in
                finished.wait()
                finished.signal()
                continuation.resume()
            }
        }
    }

    private func loop() {
        var last: [String: Int64]?
        if let existing = try? store.load() { last = existing }
        while true {
            wakeup.wait()
            let stopping = state.withLock { state -> Bool in
                state.dirty = false
                return state.stopped
            }
            let keys = snapshot()
            if keys != last, !keys.isEmpty {
                do {
                    try store.save(keys)
                    last = keys
                    state.withLock { $0.saves += 1 }
                    onSaved(Array(keys.keys))
                } catch {
                    onError(error)
                }
            }
            if stopping { break }
        }
        finished.signal()
    }
}
