import Dispatch
import Foundation
import Synchronization

/// A dedicated OS thread that runs blocking librdkafka calls one after another, so they never occupy the
/// cooperative thread pool; callers await the result through a continuation.
final class BlockingWorker: Sendable {
    private typealias Job = @Sendable () -> Void

    private struct State {
        var jobs: [Job] = []
        var stopped = false
    }

    private let state = Mutex(State())
    private let wakeup = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    /// Starts the thread. It keeps the worker alive until `stop()` lets it end.
    init(name: String) {
        let thread = Thread { [self] in loop() }
        thread.name = name
        thread.start()
    }

    private func loop() {
        while true {
            wakeup.wait()
            let next: Job? = state.withLock { state in
                state.jobs.isEmpty ? nil : state.jobs.removeFirst()
            }
            if let next {
                next()
            } else if state.withLock({ $0.stopped }) {
                break
            }
        }
        finished.signal()
    }

    /// Runs `body` on the worker thread and returns its result. After `stop()`, returns `nil` without running it.
    func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T? {
        await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
            let accepted = state.withLock { state -> Bool in
                guard !state.stopped else { return false }
                state.jobs.append { continuation.resume(returning: body()) }
                return true
            }
            if accepted { wakeup.signal() } else { continuation.resume(returning: nil) }
        }
    }

    /// Runs `job` on the worker thread without waiting for it; dropped after `stop()`.
    func submit(_ job: @escaping @Sendable () -> Void) {
        let accepted = state.withLock { state -> Bool in
            guard !state.stopped else { return false }
            state.jobs.append(job)
            return true
        }
        if accepted { wakeup.signal() }
    }

    /// Lets queued jobs finish, then ends the thread. Idempotent; does not wait.
    func stop() {
        let first = state.withLock { state -> Bool in
            defer { state.stopped = true }
            return !state.stopped
        }
        if first { wakeup.signal() }
    }

    /// `stop()`, then waits (off the cooperative pool) until the thread has ended.
    func stopAndWait() async {
        stop()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async { [finished] in
                finished.wait()
                finished.signal()  // later waiters pass too
                continuation.resume()
            }
        }
    }
}

/// A boolean shared between a caller and the jobs it submits.
final class AtomicFlag: Sendable {
    private let value = Atomic<Bool>(false)

    /// Sets the flag; returns whether it was set already.
    func testAndSet() -> Bool { value.exchange(true, ordering: .acquiringAndReleasing) }
    func clear() { value.store(false, ordering: .releasing) }
}
