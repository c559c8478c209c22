import Glibc
import ArgumentParser
import Foundation
import Kafka
import Logging
import PipelineConfig
import Postgres
import Systemd
import YAML

/// Process set-up shared by the commands: logging and the native library versions.
enum Bootstrap {
    nonisolated(unsafe) private static var bootstrapped = false
    static let logLevel = DynamicLogLevel(.info)

    /// Installs the journal or console log handler once per process.
    static func logging(_ settings: LoggingConfiguration) {
        logLevel.level = Logger.Level(settings.level)
        guard !bootstrapped else { return }
        bootstrapped = true
        let output = LogOutput(rawValue: settings.output.rawValue) ?? .auto
        LoggingSystem.bootstrap(SystemdLogging.makeHandlerFactory(output: output, identifier: "pinpipe", level: logLevel))
    }

    /// Loads the configuration or exits with EX_CONFIG (78) after printing the located error.
    /// Large buffers (batch bodies, poll buffers, fetched message sets) get their own mappings, returned to the
    /// system when freed. Left to itself, glibc raises its mmap threshold after the first such free and then
    /// serves them from per-thread arenas, where the holes they leave keep the resident size at about twice what
    /// is in use. An explicit threshold turns that adjustment off. `MALLOC_MMAP_THRESHOLD_` still overrides it.
    static func tuneAllocator() {
        guard ProcessInfo.processInfo.environment["MALLOC_MMAP_THRESHOLD_"] == nil,
              let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        // <malloc.h> is not part of Swift's Glibc module: `int mallopt(int param, int value)`, M_MMAP_THRESHOLD = -3.
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        _ = unsafeBitCast(symbol, to: Mallopt.self)(-3, 256 * 1024)
    }

    static func loadConfiguration(_ path: String) throws -> PinpipeConfiguration {
        do {
            return try PinpipeConfiguration.load(file: path)
        } catch {
            FileHandle.standardError.write(Data("pinpipe: \(error)\n".utf8))
            throw ExitCode(78)  // EX_CONFIG
        }
    }

    /// Logs the versions of the native libraries and refuses a librdkafka older than 2.0.
    static func checkLibraries(logger: Logger) throws {
        logger.info("pinpipe starting", metadata: [
            "librdkafka": "\(KafkaLibrary.version)", "libpq": "\(PostgresLibrary.version)",
            "libyaml": "\(YAMLParser.libraryVersion)",
        ])
        try KafkaLibrary.checkMinimumVersion()
    }
}

extension Logger.Level {
    init(_ level: LoggingConfiguration.Level) {
        switch level {
        case .trace: self = .trace
        case .debug: self = .debug
        case .info: self = .info
        case .notice: self = .notice
        case .warning: self = .warning
        case .error: self = .error
        case .critical: self = .critical
        }
    }
}

/// Prints an error to stderr and exits non-zero; errors already say what is wrong and where.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
}
