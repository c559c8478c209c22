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
