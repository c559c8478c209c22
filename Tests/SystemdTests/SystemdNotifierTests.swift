import Foundation
import Logging
import Synchronization
import Testing
@testable import Systemd

/// Everything that reads or sets `NOTIFY_SOCKET` / `WATCHDOG_*` runs here, one test at a time.
@Suite(.serialized) struct SystemdNotifierTests {
    /// Sets the variables for the body and restores the previous values after it.
    private func withEnvironment<T>(_ values: [String: String?], _ body: () async throws -> T) async rethrows -> T {
        let saved = values.keys.map { ($0, getenv($0).map { String(cString: $0) }) }
        for (key, value) in values {
            if let value { setenv(key, value, 1) } else { unsetenv(key) }
        }
        defer {
            for (key, value) in saved {
                if let value { setenv(key, value, 1) } else { unsetenv(key) }
            }
        }
        return try await body()
    }

    @Test func noSocketMeansNoOp() async {
        await withEnvironment(["NOTIFY_SOCKET": nil]) {
            #expect(!SystemdNotifier.isEnabled)
            #expect(!SystemdNotifier.notify([.ready]))
        }
    }

    @Test func sendsEachState() async throws {
        let socket = try NotifySocket()
        defer { socket.close() }
        try await withEnvironment(["NOTIFY_SOCKET": socket.path]) {
            #expect(SystemdNotifier.isEnabled)
            let token = UUID().uuidString
            #expect(SystemdNotifier.notify([.ready, .status("up \(token)")]))
            #expect(SystemdNotifier.notify(.watchdog))
            #expect(SystemdNotifier.notify(.stopping))
            #expect(SystemdNotifier.notify(.extendTimeout(.seconds(90) + .milliseconds(500))))
            #expect(SystemdNotifier.notify([.status("line one\nline two"), .mainPID(4242), .errno(5)]))
            #expect(SystemdNotifier.notify([.reloading, .watchdogTrigger]))

            let ready = try #require(await socket.waitFor { $0.contains(token) })
            #expect(ready == "READY=1\nSTATUS=up \(token)")
            #expect(await socket.waitFor { $0 == "WATCHDOG=1" } != nil)
            #expect(await socket.waitFor { $0 == "STOPPING=1" } != nil)
            #expect(await socket.waitFor { $0 == "EXTEND_TIMEOUT_USEC=90500000" } != nil)
            #expect(await socket.waitFor { $0 == "STATUS=line one line two\nMAINPID=4242\nERRNO=5" } != nil)
            #expect(await socket.waitFor { $0 == "RELOADING=1\nWATCHDOG=trigger" } != nil)
        }
    }

    @Test func watchdogIntervalFromEnvironment() async {
        let pid = String(getpid())
        await withEnvironment(["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": pid]) {
            #expect(SystemdWatchdog.interval() == .seconds(30))
        }
        await withEnvironment(["WATCHDOG_USEC": "400000", "WATCHDOG_PID": nil]) {
            #expect(SystemdWatchdog.interval() == .milliseconds(400))
        }
        // Meant for another process (e.g. inherited by a child): off for us.
        await withEnvironment(["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": String(getpid() + 1)]) {
            #expect(SystemdWatchdog.interval() == nil)
        }
        await withEnvironment(["WATCHDOG_USEC": nil, "WATCHDOG_PID": nil]) {
            #expect(SystemdWatchdog.interval() == nil)
        }
    }

    @Test func supervisorPingsAtHalfIntervalStopsWhenStaleAndResumes() async throws {
        let socket = try NotifySocket()
        defer { socket.close() }
        try await withEnvironment(["NOTIFY_SOCKET": socket.path]) {
            let heartbeats = Heartbeats()
            heartbeats.register("sink")
            let token = UUID().uuidString
            let logs = LineSink()
            let logger = Logger(label: "wd") { ConsoleLogHandler(label: $0, rateLimiter: nil, output: logs.append) }
            let supervisor = WatchdogSupervisor(
                heartbeats: heartbeats, watchdogInterval: .milliseconds(400), staleAfter: .milliseconds(300),
                statusInterval: .milliseconds(250), status: { "status \(token)" }, logger: logger)
            let task = Task { await supervisor.run() }

            // Phase 1: the actor beats; pings every ~200 ms.
            let start = ContinuousClock.now
            let beating = Task {
                while ContinuousClock.now - start < .milliseconds(1100) {
                    heartbeats.beat("sink")
                    try? await Task.sleep(for: .milliseconds(20))
                }
            }
            await beating.value
            let phase1 = socket.messages.filter { $0.text == "WATCHDOG=1" }.map(\.at)
            // Expect ~6 pings in 1.1 s (at 0, 200, …, 1000 ms); allow scheduling slack.
            #expect((3...8).contains(phase1.count), "pings while fresh: \(phase1.count)")
            // The mean cadence, not each gap: the listener timestamps datagrams when its thread gets to them, so
            // on a loaded machine two pings can arrive back to back although they were sent ~200 ms apart.
            let gaps = zip(phase1.dropFirst(), phase1).map { $0 - $1 }
            for gap in [gaps.reduce(Duration.zero, +) / max(gaps.count, 1)] {
                #expect(gap > .milliseconds(100) && gap < .milliseconds(500), "mean gap \(gap)")
            }
            #expect(socket.messages.contains { $0.text == "STATUS=status \(token)" })

            // Phase 2: no more beats. After 300 ms stale, pings stop.
            try await Task.sleep(for: .milliseconds(1000))
            let stopAt = ContinuousClock.now
            let beforeHang = socket.messages.filter { $0.text == "WATCHDOG=1" }.count
            try await Task.sleep(for: .milliseconds(600))
            let duringHang = socket.messages.filter { $0.text == "WATCHDOG=1" && $0.at > stopAt }.count
            #expect(duringHang == 0, "pinged \(duringHang) times while hung")
            #expect(beforeHang >= phase1.count)
            let hungLines = logs.lines.filter { $0.contains("actor 'sink' stopped beating") }
            #expect(hungLines.count == 1)
            #expect(hungLines.first?.contains("pinpipe.actor=sink") == true)

            // Phase 3: it beats again; pings resume and the recovery is logged once.
            // It keeps beating until the ping is seen: one beat could go stale again (300 ms) before a supervisor
            // turn on a loaded machine gets to it, which is a hang by this supervisor's rules.
            let resumeAt = ContinuousClock.now
            let beatingAgain = Task {
                while !Task.isCancelled {
                    heartbeats.beat("sink")
                    try? await Task.sleep(for: .milliseconds(20))
                }
            }
            let resumed = await socket.waitFor(timeout: .seconds(5)) { _ in
                socket.messages.contains { $0.text == "WATCHDOG=1" && $0.at > resumeAt }
            }
            beatingAgain.cancel()
            await beatingAgain.value
            #expect(resumed != nil)
            #expect(logs.lines.filter { $0.contains("actor 'sink' is beating again") }.count == 1)

            task.cancel()
            await task.value
            // A datagram sent just before the task ended may still be on its way to the listener. Only this
            // supervisor's messages count: NOTIFY_SOCKET is process-wide, and a pinpipe that another suite spawns
            // meanwhile inherits it and sends its own STATUS lines here.
            try await Task.sleep(for: .milliseconds(150))
            let ours = { socket.messages.filter { $0.text == "WATCHDOG=1" || $0.text.contains(token) }.count }
            let afterCancel = ours()
            try await Task.sleep(for: .milliseconds(450))
            #expect(ours() == afterCancel, "supervisor kept sending after cancellation")
        }
    }

    @Test func supervisorWithoutWatchdogOnlySendsStatus() async throws {
        let captured = Mutex<[[SystemdNotifyState]]>([])
        let counter = Atomic<Int>(0)
        let supervisor = WatchdogSupervisor(
            heartbeats: Heartbeats(), watchdogInterval: nil, staleAfter: nil, statusInterval: .milliseconds(50),
            status: { "n=\(counter.add(1, ordering: .relaxed).newValue)" }, logger: Logger(label: "x"),
            notify: { states in captured.withLock { $0.append(states) } })
        let task = Task { await supervisor.run() }
        try await Task.sleep(for: .milliseconds(280))
        task.cancel()
        await task.value
        let sent = captured.withLock { $0 }
        #expect(!sent.contains { $0.contains(.watchdog) })
        #expect((3...7).contains(sent.count), "status messages: \(sent.count)")
        #expect(sent.first == [.status("n=1")])
    }
}
