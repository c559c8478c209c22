import Logging
import Synchronization

/// Keeps every log line (level, message and metadata rendered as text) so tests can inspect them.
final class LogCapture: Sendable {
    private let lines = Mutex<[(Logger.Level, String)]>([])

    var all: [(Logger.Level, String)] { lines.withLock { $0 } }
    var text: String { all.map(\.1).joined(separator: "\n") }

    func count(_ level: Logger.Level) -> Int { all.filter { $0.0 == level }.count }

    func append(_ level: Logger.Level, _ line: String) {
        lines.withLock { $0.append((level, line)) }
    }

    func logger(_ label: String = "s3-test") -> Logger {
        var logger = Logger(label: label) { _ in CapturingLogHandler(capture: self) }
        logger.logLevel = .trace
        return logger
    }
}

struct CapturingLogHandler: LogHandler {
    let capture: LogCapture
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        let rendered = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        capture.append(event.level, "\(event.message) \(rendered)")
    }
}
