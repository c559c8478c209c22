import Foundation
import Support
import Synchronization
import Testing

@Suite struct BlockingExecutorTests {
    @Test func runsJobsInSubmissionOrderOnOneThread() async {
        let executor = BlockingExecutor(name: "test-order")
        let seen = Mutex<[Int]>([])
        let threads = Mutex<Set<UInt>>([])
        for index in 0..<200 {
            executor.submit {
                seen.withLock { $0.append(index) }
                threads.withLock { _ = $0.insert(UInt(bitPattern: Int(bitPattern: pthread_self()))) }
            }
        }
        let last = await executor.run { seen.withLock { $0.count } }
        #expect(last == 200, "a run queued after 200 submits sees all of them done")
        #expect(seen.withLock { $0 } == Array(0..<200))
        #expect(threads.withLock { $0.count } == 1)
        await executor.shutdownAndWait()
    }

    @Test func manyConcurrentCallersAllGetTheirOwnResult() async {
        let executor = BlockingExecutor(name: "test-concurrent")
        let results = await withTaskGroup(of: (Int, Int?).self) { group in
            for index in 0..<500 {
                group.addTask { (index, await executor.run { index * 2 }) }
            }
            var results: [Int: Int?] = [:]
            for await (index, value) in group { results[index] = value }
            return results
        }
        #expect(results.count == 500)
        #expect(results.allSatisfy { $0.value == $0.key * 2 })
        await executor.shutdownAndWait()
    }

    @Test func shutdownRunsTheQueuedJobsThenRefusesNewOnes() async {
        let executor = BlockingExecutor(name: "test-shutdown")
        let gate = DispatchSemaphore(value: 0)
        let ran = Atomic<Int>(0)
        executor.submit { gate.wait() }  // holds the thread, so the next jobs are still queued at shutdown
        for _ in 0..<10 { executor.submit { ran.add(1, ordering: .relaxed) } }
        executor.shutdown()
        #expect(!executor.isAccepting)
        #expect(executor.submit { ran.add(100, ordering: .relaxed) } == false)
        #expect(await executor.run { 1 } == nil)
        #expect(await executor.run(orIfShutDown: -1) { 1 } == -1)
        #expect(!executor.hasFinished, "the thread is still inside the first job")
        gate.signal()
        await executor.shutdownAndWait()
        #expect(executor.hasFinished)
        #expect(ran.load(ordering: .relaxed) == 10, "queued jobs ran, the refused ones did not")
        await executor.shutdownAndWait()  // idempotent: returns at once once finished
    }

    @Test func aDroppedExecutorStillRunsItsQueueAndEndsItsThread() async throws {
        let name = "test-dropped"
        let done = Atomic<Int>(0)
        let sawThread = Atomic<Bool>(false)
        do {
            let executor = BlockingExecutor(name: name)
            executor.submit { sawThread.store(Self.threadNames().contains(name), ordering: .relaxed) }
            for _ in 0..<5 { executor.submit { usleep(1_000); done.add(1, ordering: .relaxed) } }
        }
        // Nothing to await on a dropped executor: watch the process's thread list until the thread is gone.
        var ended = false
        for _ in 0..<2_000 {
            if done.load(ordering: .relaxed) == 5, !Self.threadNames().contains(name) {
                ended = true
                break
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        let existed = sawThread.load(ordering: .relaxed)
        #expect(existed, "the thread existed under its name")
        #expect(ended, "the queued jobs ran (\(done.load(ordering: .relaxed))/5) and the thread ended")
    }

    @Test func theThreadCarriesItsName() async {
        let executor = BlockingExecutor(name: "test-named")
        let names = await executor.run { Self.threadNames() }
        #expect(names?.contains("test-named") == true)
        await executor.shutdownAndWait()
    }

    /// The names of this process's threads, from /proc (Linux).
    static func threadNames() -> [String] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.compactMap { task in
            (try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }
}
