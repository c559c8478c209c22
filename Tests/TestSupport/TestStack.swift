import Foundation

/// The local service stack (`deploy/dev/stack`) as the tests see it.
///
/// - Important: Tests never assume a running service. The first caller in a test process runs
///   `deploy/dev/stack up` (idempotent: it starts only what is not running) and every caller then reads the
///   addresses and credentials from the stack's env file.
public enum TestStack {
    /// The repository root, found from this file's location.
    public static let repoRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Where the stack keeps its state; `PINPIPE_DEV_DIR` overrides it as it does for the script.
    public static var devDirectory: URL {
        if let dir = ProcessInfo.processInfo.environment["PINPIPE_DEV_DIR"] { return URL(fileURLWithPath: dir) }
        return repoRoot.appendingPathComponent(".dev")
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var cached: [String: String]?

    /// Brings the stack up once per process and returns its env file as a dictionary.
    public static func environment() throws -> [String: String] {
        lock.lock()
        defer { lock.unlock() }
        if let cached { return cached }
        let result = try run(repoRoot.appendingPathComponent("deploy/dev/stack").path, ["up"])
        guard result.status == 0 else {
            throw TestStackError(message: "deploy/dev/stack up failed (\(result.status)):\n\(result.output)")
        }
        let env = try parseEnvFile(devDirectory.appendingPathComponent("stack.env"))
        cached = env
        return env
    }

    /// One value of the stack's env file, failing clearly when the key is missing.
    public static func value(_ key: String) throws -> String {
        guard let value = try environment()[key] else {
            throw TestStackError(message: "stack.env has no \(key)")
        }
        return value
    }

    /// Parses `KEY=VALUE` lines (optionally single-quoted values, `#` comments).
    public static func parseEnvFile(_ url: URL) throws -> [String: String] {
        let text = try String(contentsOf: url, encoding: .utf8)
        var env: [String: String] = [:]
        for raw in text.split(separator: "\n") {
            var line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line.removeFirst("export ".count) }
            guard let eq = line.firstIndex(of: "=") else { continue }
            let key = String(line[..<eq])
            var value = String(line[line.index(after: eq)...])
            if value.count >= 2, value.hasPrefix("'"), value.hasSuffix("'") {
                value = String(value.dropFirst().dropLast())
            } else if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
                value = String(value.dropFirst().dropLast())
            }
            env[key] = value
        }
        return env
    }

    /// Runs a program to completion, returning its exit status and combined output.
    @discardableResult
    public static func run(_ path: String, _ arguments: [String], environment: [String: String]? = nil)
        throws -> (status: Int32, output: String)
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// A name unique to this test run, for topics, groups, buckets and prefixes.
    public static func uniqueName(_ base: String) -> String {
        "\(base)-\(UInt32.random(in: 0...UInt32.max) & 0xffffff)"
    }
}

public struct TestStackError: Error, CustomStringConvertible {
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}
