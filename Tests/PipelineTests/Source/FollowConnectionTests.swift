import Foundation
import Postgres
import Testing

/// Follow mode polls over one PostgreSQL connection per table for as long as it works: the server sees the same
/// backends poll after poll, never a connection per poll (which over weeks is millions of connections).
@Suite struct FollowConnectionTests {

    /// The local ports of the process's TCP connections to PostgreSQL, read from /proc: the process's socket
    /// inodes (its fds) matched against /proc/<pid>/net/tcp rows whose remote port is the server's.
    static func postgresConnections(pid: Int32, serverPort: Int) -> Set<Int> {
        let fdDirectory = "/proc/\(pid)/fd"
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: fdDirectory)) ?? []
        let inodes = Set(fds.compactMap { fd -> String? in
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(fdDirectory)/\(fd)"),
                  target.hasPrefix("socket:[") else { return nil }
            return String(target.dropFirst(8).dropLast())
        })
        var ports = Set<Int>()
        for file in ["tcp", "tcp6"] {
            // Read to the end: /proc files report size 0, and String(contentsOfFile:) stops after one page.
            guard let handle = FileHandle(forReadingAtPath: "/proc/\(pid)/net/\(file)") else { continue }
            let table = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
            try? handle.close()
            for line in table.split(separator: "\n").dropFirst() {
                let columns = line.split(separator: " ", omittingEmptySubsequences: true)
                guard columns.count > 9, inodes.contains(String(columns[9])),
                      let remote = columns[2].split(separator: ":").last, Int(remote, radix: 16) == serverPort,
                      let local = columns[1].split(separator: ":").last, let port = Int(local, radix: 16)
                else { continue }
                ports.insert(port)
            }
        }
        return ports
    }

    @Test func followModeKeepsItsConnectionsAcrossPolls() async throws {
        let harness = try PipelineHarness("followconn")
        let suffix = "_\(harness.prefix)"
        let db = try await harness.database()
        try await harness.copySampleTables(db, suffix: suffix, keysBelow: 50)
        try harness.writeConfig(mode: "follow", roles: "produce", tableSuffix: suffix)  // poll_interval: 1s
        let running = try harness.start(["run", "--config", harness.configPath])
        try await running.waitForLog("Snapshot of table read")
        try await Task.sleep(for: .seconds(3))
        let pid = running.process.processIdentifier
        let serverPort = try #require(Int(harness.env["PINPIPE_PG_PORT"] ?? ""))
        let first = Self.postgresConnections(pid: pid, serverPort: serverPort)
        // New rows between polls, so the polls do read; then at least five more polls.
        for (table, key) in PipelineHarness.sampleTables {
            try await db.execute("INSERT INTO \(table)\(suffix) SELECT * FROM \(table) WHERE \"\(key)\" BETWEEN 50 AND 59")
        }
        try await running.waitForLog("Follow: new rows produced")
        try await Task.sleep(for: .seconds(6))
        let later = Self.postgresConnections(pid: pid, serverPort: serverPort)
        running.signal(SIGTERM)
        let status = try await running.wait(timeout: .seconds(60))
        #expect(status == 0, "\(running.output.suffix(3000))")
        #expect(first.count == 3, "one connection per table (local ports): \(first)")
        #expect(later == first, "the polls opened new connections: \(first) then \(later)")
        try await harness.dropSampleTables(db, suffix: suffix)
        await db.close()
    }
}
