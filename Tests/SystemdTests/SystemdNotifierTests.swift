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
}
