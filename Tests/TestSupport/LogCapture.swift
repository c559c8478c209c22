import Logging
import Synchronization

/// A swift-log destination for tests: keeps every entry (level, message, metadata rendered as text).
public final class LogCapture: Sendable {
    public struct Entry: Sendable {
        public var level: Logger.Level
        public var message: String
        public var metadata: [String: String]

        /// The message, then `key=value` for each metadata entry, sorted by key.
        public var fullText: String {
            ([message] + metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }).joined(separator: " ")
        }
    }

    private let storage = Mutex<[Entry]>([])

    public init() {}

    public var entries: [Entry] { storage.withLock { $0 } }
    /// Each entry's level and full text.
    public var all: [(Logger.Level, String)] { entries.map { ($0.level, $0.fullText) } }
    public var text: String { all.map(\.1).joined(separator: "\n") }

    public func count(_ level: Logger.Level) -> Int { entries.filter { $0.level == level }.count }

    public func append(_ entry: Entry) { storage.withLock { $0.append(entry) } }

    public func logger(_ label: String = "test", level: Logger.Level = .trace) -> Logger {
        var logger = Logger(label: label) { _ in CapturingLogHandler(capture: self) }
        logger.logLevel = level
        return logger
    }
}

/// The handler behind ``LogCapture/logger(_:level:)``.
public struct CapturingLogHandler: LogHandler {
    let capture: LogCapture
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .trace

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        capture.append(.init(level: event.level, message: "\(event.message)", metadata: merged.mapValues { "\($0)" }))
    }
}
