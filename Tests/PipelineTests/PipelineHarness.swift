import Foundation
import Kafka
import Logging
import Postgres
import S3
import TestSupport

/// Runs the real `pinpipe` binary against the local stack, each test on its own topics, group and state.
struct PipelineHarness {
    let env: [String: String]
    let prefix: String
    let directory: URL
    let binary: String

    init(_ name: String) throws {
        env = try TestStack.environment()
        prefix = TestStack.uniqueName(name).replacingOccurrences(of: "-", with: "")
        directory = TestStack.devDirectory.appendingPathComponent("tests/\(prefix)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        binary = env["PINPIPE_BIN"] ?? TestStack.repoRoot.appendingPathComponent(".build/debug/pinpipe").path
    }

    /// The broker the generated configuration names: the stack's mock, or the one `PINPIPE_CONFIG_KAFKA_BOOTSTRAP`
    /// switches every generated configuration to (deploy/tansu/run --e2e).
    var kafkaBootstrap: String {
        ProcessInfo.processInfo.environment["PINPIPE_CONFIG_KAFKA_BOOTSTRAP"] ?? env["PINPIPE_KAFKA_BOOTSTRAP"]!
    }

    var configPath: String { directory.appendingPathComponent("pinpipe.yaml").path }
    var topics: [String] { ["pin", "geo", "user"].map { "\(prefix).\($0)" } }

    /// Writes the stack configuration for this test (through the project's own generator script).
    func writeConfig(mode: String = "snapshot", roles: String = "produce, sink", maxRecords: Int = 3000,
                     maxAge: String = "2s", credentials: String? = nil, tableSuffix: String = "", fetchSize: Int = 5000,
                     s3Endpoint: String? = nil, exactlyOnce: Bool = false, transactionMaxRecords: Int = 50_000,
                     emulate: String? = nil, metricsListen: String? = nil, producerProperties: String? = nil,
                     tableHeader: Bool = false, extra: String = "") throws {
        var environment = ProcessInfo.processInfo.environment
        environment["PINPIPE_CONFIG_STATE_DIR"] = directory.appendingPathComponent("state").path
        environment["PINPIPE_CONFIG_ROLES"] = roles
        environment["PINPIPE_CONFIG_MAX_RECORDS"] = String(maxRecords)
        environment["PINPIPE_CONFIG_MAX_AGE"] = maxAge
        if let credentials { environment["PINPIPE_CONFIG_CREDENTIALS"] = credentials }
        environment["PINPIPE_CONFIG_TABLE_SUFFIX"] = tableSuffix
        environment["PINPIPE_CONFIG_FETCH_SIZE"] = String(fetchSize)
        environment["PINPIPE_CONFIG_TABLE_HEADER"] = String(tableHeader)
        if let s3Endpoint { environment["PINPIPE_CONFIG_S3_ENDPOINT"] = s3Endpoint }
        environment["PINPIPE_CONFIG_EXACTLY_ONCE"] = String(exactlyOnce)
        environment["PINPIPE_CONFIG_TXN_MAX_RECORDS"] = String(transactionMaxRecords)
        if let emulate { environment["PINPIPE_CONFIG_EMULATE"] = emulate }
        if let metricsListen { environment["PINPIPE_CONFIG_METRICS_LISTEN"] = metricsListen }
        if let producerProperties { environment["PINPIPE_CONFIG_PRODUCER_PROPERTIES"] = producerProperties }
        let script = TestStack.repoRoot.appendingPathComponent("deploy/dev/pinpipe-stack-config.sh").path
        let result = try TestStack.run(script, [prefix, mode], environment: environment)
        guard result.status == 0 else { throw TestStackError(message: result.output) }
        try (result.output + extra).write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// Starts `pinpipe` with arguments; the caller waits or signals.
    func start(_ arguments: [String], environment extra: [String: String] = [:]) throws -> RunningPinpipe {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "NOTIFY_SOCKET")
        environment.removeValue(forKey: "JOURNAL_STREAM")
        environment.merge(extra) { $1 }
        process.environment = environment
        let log = directory.appendingPathComponent("run-\(UUID().uuidString.prefix(8)).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return RunningPinpipe(process: process, log: log)
    }

    /// Runs `pinpipe` to completion (bounded by `timeout`) and returns its status and output.
    func run(_ arguments: [String], environment: [String: String] = [:], timeout: Duration = .seconds(180))
        async throws -> (status: Int32, output: String)
    {
        let running = try start(arguments, environment: environment)
        let status = try await running.wait(timeout: timeout)
        return (status, running.output)
    }

    func s3Client() -> S3Client {
        S3Client(configuration: S3Configuration(region: env["PINPIPE_S3_REGION"]!, endpoint: env["PINPIPE_S3_ENDPOINT"]!,
                                                pathStyle: true),
                 credentials: StaticCredentialsProvider(accessKeyID: env["PINPIPE_S3_ACCESS_KEY"]!,
                                                        secretAccessKey: env["PINPIPE_S3_SECRET_KEY"]!),
                 logger: Logger(label: "test.s3"))
    }

    /// Every record stored for this test's topics, per topic, with the object each came from.
    func storedRecords() async throws -> [String: [(key: String, line: [UInt8])]] {
        let client = s3Client()
        defer { Task { await client.shutdown() } }
        var result: [String: [(String, [UInt8])]] = [:]
        for topic in topics {
            let objects = try await client.listAllObjects(bucket: env["PINPIPE_S3_BUCKET"]!, prefix: "topics/\(topic)/")
            for object in objects {
                let body = try await client.getObject(bucket: env["PINPIPE_S3_BUCKET"]!, key: object.key).body
                for line in body.split(separator: UInt8(ascii: "\n")) {
                    result[topic, default: []].append((object.key, Array(line)))
                }
            }
        }
        return result
    }

    /// The stack's sample tables and their key columns.
    static let sampleTables = [("pinterest_data", "index"), ("geolocation_data", "ind"), ("user_data", "ind")]

    /// Copies of the sample tables, named `<table><suffix>`, holding the rows whose key is below `keysBelow`.
    /// `nullableKeys`: without the primary key, and with the key column nullable.
    func copySampleTables(_ db: PostgresConnection, suffix: String, keysBelow: Int, nullableKeys: Bool = false)
        async throws
    {
        for (table, key) in Self.sampleTables {
            try await db.execute("CREATE TABLE \(table)\(suffix) (LIKE \(table)\(nullableKeys ? "" : " INCLUDING ALL"))")
            if nullableKeys { try await db.execute("ALTER TABLE \(table)\(suffix) ALTER COLUMN \"\(key)\" DROP NOT NULL") }
            try await db.execute("INSERT INTO \(table)\(suffix) SELECT * FROM \(table) WHERE \"\(key)\" < \(keysBelow)")
        }
    }

    func dropSampleTables(_ db: PostgresConnection, suffix: String) async throws {
        for (table, _) in Self.sampleTables { try await db.execute("DROP TABLE \(table)\(suffix)") }
    }

    func database() async throws -> PostgresConnection {
        try await PostgresConnection.connect(
            PostgresConnectionParameters(host: env["PINPIPE_PG_HOST"]!, port: Int(env["PINPIPE_PG_PORT"]!)!,
                                         user: env["PINPIPE_PG_USER"]!, password: env["PINPIPE_PG_PASSWORD"]!,
                                         database: env["PINPIPE_PG_DATABASE"]!, sslMode: "disable"),
            logger: Logger(label: "test.pg"))
    }
}

/// The project's fault proxy (deploy/dev/fault-proxy.py) in front of a stack service.
final class FaultProxy: @unchecked Sendable {
    // Only used from the test's task.
    let process: Process
    let port: Int
    let input = Pipe()
    let output = Pipe()

    init(target: String) throws {
        process = Process()
        // The stack's own interpreter (.dev/venv), the one every project script uses.
        let python = (try? TestStack.value("PINPIPE_PYTHON")) ?? "/usr/bin/python3"
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [TestStack.repoRoot.appendingPathComponent("deploy/dev/fault-proxy.py").path, target]
        process.standardOutput = output
        process.standardInput = input
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { throw TestStackError(message: "fault proxy did not start") }
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.hasPrefix("port "), let port = Int(text.dropFirst(5)) else {
            throw TestStackError(message: "fault proxy said \(text)")
        }
        self.port = port
    }

    /// Sends a command and waits for its acknowledgement.
    private func command(_ text: String) {
        input.fileHandleForWriting.write(Data("\(text)\n".utf8))
        var reply = Data()
        while !reply.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            reply.append(chunk)
        }
    }

    func down() { command("down") }
    func up() { command("up") }
    func stop() {
        try? input.fileHandleForWriting.close()
        for _ in 0..<50 where process.isRunning { usleep(100_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

final class RunningPinpipe: @unchecked Sendable {
    // Only touched from the test's task; Process is thread-safe for these calls.
    let process: Process
    let log: URL

    init(process: Process, log: URL) {
        self.process = process
        self.log = log
    }

    var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// Waits until the log contains `text`.
    func waitForLog(_ text: String, count: Int = 1, timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while output.components(separatedBy: text).count - 1 < count {
            if ContinuousClock.now > deadline || !process.isRunning {
                throw TestStackError(message: "no \"\(text)\" in the log:\n\(output.suffix(3000))")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Waits for exit; kills the process and throws when it takes longer than `timeout`.
    func wait(timeout: Duration) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                kill(process.processIdentifier, SIGKILL)
                throw TestStackError(message: "pinpipe did not finish within \(timeout):\n\(output.suffix(3000))")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        return process.terminationStatus
    }
}
