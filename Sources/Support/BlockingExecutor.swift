import Foundation

/// The one way pinpipe runs blocking C calls (librdkafka, libpq): a dedicated OS thread that runs submitted jobs
/// one at a time, in submission order, so blocking I/O never occupies the cooperative thread pool. An async
/// caller awaits a job's result through a continuation that the job resumes.
///
/// Shutdown is safe at any time: ``shutdown()`` refuses new jobs and lets the queued ones finish, then the thread
/// ends; ``shutdownAndWait()`` also suspends (without blocking a thread) until it has ended. Dropping the last
/// reference shuts the executor down too, so a forgotten executor never leaks its thread.
///
/// - Important: A job must not wait for another job of the same executor (it would wait forever).
public final class BlockingExecutor: Sendable {
    private let core: Core

    /// Starts the thread, named `name` (visible in `top -H`, `/proc/<pid>/task/*/comm` and debuggers; Linux keeps
    /// the first 15 bytes).
    public init(name: String) {
        let core = Core()
        self.core = core
        let thread = Thread {
            // Named by the thread itself through /proc (Linux); Foundation's `Thread.name` races with the start.
            try? String(decoding: name.utf8.prefix(15), as: UTF8.self)
                .write(toFile: "/proc/thread-self/comm", atomically: false, encoding: .utf8)
            core.loop()
        }
        thread.start()
    }

    deinit { core.shutdown() }

    /// Queues `job` without waiting for it. Returns false (and never runs it) once the executor is shut down.
    @discardableResult
    public func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
        core.submit(job)
    }

    /// Runs `body` on the thread and returns its result; nil, without running it, once the executor is shut down.
    public func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T? {
        await run(orIfShutDown: nil) { Optional(body()) }
    }

    /// Runs `body` on the thread and returns its result; `fallback`, without running `body`, once the executor is
    /// shut down.
    public func run<T: Sendable>(
        orIfShutDown fallback: @autoclosure () -> T, _ body: @escaping @Sendable () -> T
    ) async -> T {
        let fallback = fallback()
        return await withCheckedContinuation { (continuation: CheckedContinuation<T, Never>) in
            let accepted = core.submit { continuation.resume(returning: body()) }
            if !accepted { continuation.resume(returning: fallback) }
        }
    }

    /// Refuses new jobs; the queued ones still run, then the thread ends. Idempotent; does not wait.
    public func shutdown() { core.shutdown() }

    /// ``shutdown()``, then suspends until the queued jobs have run and the thread has ended.
    public func shutdownAndWait() async {
        core.shutdown()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            core.whenFinished { continuation.resume() }
        }
    }

    /// Whether the executor still accepts jobs.
    public var isAccepting: Bool { core.isAccepting }

    /// Whether the thread has ended (after a shutdown and the last queued job).
    public var hasFinished: Bool { core.hasFinished }
}

extension BlockingExecutor {
    /// The state shared by the executor and its thread. The thread holds it strongly, the executor too, so the
    /// executor can be dropped while its last jobs still run.
    private final class Core: @unchecked Sendable {
        // @unchecked Sendable: every stored property below is read and written only with `condition` locked.
        private let condition = NSCondition()
        private var jobs: [@Sendable () -> Void] = []
        private var accepting = true
        private var finished = false
        private var finishWaiters: [@Sendable () -> Void] = []

        func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
            condition.lock()
            defer { condition.unlock() }
            guard accepting else { return false }
            jobs.append(job)
            condition.signal()
            return true
        }

        func shutdown() {
            condition.lock()
            accepting = false
            condition.signal()
            condition.unlock()
        }

        /// Calls `waiter` once the thread has ended: at once if it has, else from the thread as it ends.
        func whenFinished(_ waiter: @escaping @Sendable () -> Void) {
            condition.lock()
            if finished {
                condition.unlock()
                waiter()
                return
            }
            finishWaiters.append(waiter)
            condition.unlock()
        }

        var isAccepting: Bool {
            condition.lock()
            defer { condition.unlock() }
            return accepting
        }

        var hasFinished: Bool {
            condition.lock()
            defer { condition.unlock() }
            return finished
        }

        /// The thread's body: sleeps on the condition (a real OS thread may block) until jobs or the shutdown come.
        func loop() {
            while true {
                condition.lock()
                while jobs.isEmpty && accepting { condition.wait() }
                if jobs.isEmpty {
                    finished = true
                    let waiters = finishWaiters
                    finishWaiters.removeAll()
                    condition.unlock()
                    for waiter in waiters { waiter() }
                    return
                }
                let batch = jobs
                jobs.removeAll(keepingCapacity: true)
                condition.unlock()
                for job in batch { job() }
            }
        }
    }
}
