import Foundation

/// A dedicated thread that runs submitted jobs one at a time, in submission order.
///
/// Every libpq call of a connection runs here, so blocking network I/O never occupies the cooperative pool.
final class PostgresWorkerThread: @unchecked Sendable {
    // @unchecked Sendable: `jobs` and `stopping` are only read or written with `condition` locked; the thread
    // itself only touches them inside `loop()` under the same lock.
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var stopping = false

    init(name: String) {
        let thread = Thread { [self] in self.loop() }
        thread.name = name
        thread.start()
    }

    /// Queues `job`; false when the thread is stopping (the job will never run).
    @discardableResult
    func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if stopping { return false }
        jobs.append(job)
        condition.signal()
        return true
    }

    /// Runs `body` on the thread and returns its result; `whenStopped` if the thread no longer accepts jobs.
    func perform<T: Sendable>(
        whenStopped: @autoclosure () -> T, _ body: @escaping @Sendable () -> T
    ) async -> T {
        let stoppedValue = whenStopped()
        return await withCheckedContinuation { (continuation: CheckedContinuation<T, Never>) in
            let accepted = submit { continuation.resume(returning: body()) }
            if !accepted { continuation.resume(returning: stoppedValue) }
        }
    }

    /// Lets the queued jobs finish, then ends the thread. Later submissions are refused.
    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopping { condition.wait() }
            if jobs.isEmpty {
                condition.unlock()
                return
            }
            let batch = jobs
            jobs.removeAll(keepingCapacity: true)
            condition.unlock()
            for job in batch { job() }
        }
    }
}
