import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A swift-log handler writing one readable line per entry to stderr:
/// `2026-11-29T07:04:41.123Z info [pinpipe.sink] message key=value …`.
///
/// Each line goes out in a single `write(2)` under a process-wide lock, so lines of concurrent loggers never
/// interleave. Secret-looking metadata is masked and bursts of identical warnings are summarised, as in the
/// journal handler.
public struct ConsoleLogHandler: LogHandler {
    public let label: String
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let dynamicLevel: DynamicLogLevel
    private var levelOverride: Logger.Level?
    private let rateLimiter: SharedLogRateLimiter?
    private let output: @Sendable (String) -> Void

    public init(
        label: String,
        level: DynamicLogLevel = DynamicLogLevel(),
        rateLimiter: SharedLogRateLimiter? = SharedLogRateLimiter(),
        metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider,
        output: @escaping @Sendable (String) -> Void = ConsoleLogHandler.writeToStandardError
    ) {
        self.label = label
        self.dynamicLevel = level
        self.rateLimiter = rateLimiter
        self.metadataProvider = metadataProvider
        self.output = output
    }

    public var logLevel: Logger.Level {
        get { levelOverride ?? dynamicLevel.level }
        set { levelOverride = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let record = LogRecord(event: event, label: label, handlerMetadata: metadata, provider: metadataProvider)
        let lines = (rateLimiter?.entries(for: record) ?? [record]).map { Self.format($0) }
        if !lines.isEmpty { output(lines.joined()) }
    }

    /// The line for a record, newline included. `time` defaults to now.
    public static func format(_ record: LogRecord, time: timespec? = nil) -> String {
        var line = timestamp(time ?? now())
        line += " \(record.level.rawValue) [\(record.label)] \(record.message)"
        for (key, value) in record.flatMetadata {
            line += " \(key)=\(quoted(value))"
        }
        if let error = record.error { line += " error=\(quoted(error))" }
        line += "\n"
        return line
    }

    /// ISO-8601 UTC with milliseconds, e.g. `2026-11-29T07:04:41.123Z`.
    public static func timestamp(_ time: timespec) -> String {
        var seconds = time.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))."
            + "\(pad(Int32(time.tv_nsec / 1_000_000), 3))Z"
    }

    /// Values with spaces, quotes, `=` or control characters are quoted, with `"`, `\` and newlines escaped.
    static func quoted(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.contains { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline
            || $0 == "\t" || $0 == "\\" }
        guard needsQuotes else { return value }
        var out = "\""
        for character in value {
            switch character {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default: out.append(character)
            }
        }
        return out + "\""
    }

    private static func now() -> timespec {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return time
    }

    private static let stderrLock = Mutex(())

    /// Writes the text to fd 2 in as few `write(2)` calls as the kernel allows, holding the lock throughout.
    public static let writeToStandardError: @Sendable (String) -> Void = { text in
        stderrLock.withLock { _ in
            var bytes = Array(text.utf8)
            bytes.withUnsafeMutableBytes { raw in
                guard var pointer = raw.baseAddress else { return }
                var remaining = raw.count
                while remaining > 0 {
                    let written = write(2, pointer, remaining)
                    if written < 0 {
                        if errno == EINTR { continue }
                        return
                    }
                    pointer += written
                    remaining -= written
                }
            }
        }
    }
}
