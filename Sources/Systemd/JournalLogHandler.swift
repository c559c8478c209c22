import CSystemd
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A swift-log handler that writes native journal entries with structured fields (sd_journal_sendv(3)).
///
/// Each entry carries `MESSAGE`, `PRIORITY` (syslog number), `SYSLOG_IDENTIFIER`, `CODE_FILE`, `CODE_LINE`,
/// `CODE_FUNC`, `LOGGER` (the logger label), `LOGGER_SOURCE` (the module), `ERROR` when an error is attached,
/// and one field per metadata key, its name sanitised by `JournalFieldName` (`kafka.topic` → `KAFKA_TOPIC`).
/// Values may have any length and contain newlines: every field goes out as one `NAME=value` iovec, which
/// libsystemd serialises in the binary-safe form when needed. Secret-looking keys are masked (`LogSecrets`),
/// and bursts of identical warnings or errors are summarised (`LogRateLimiter`).
///
/// - Important: libsystemd sends to the fixed socket `/run/systemd/journal/socket`. Writing is one local
///   datagram (or a memfd for very large entries) and does not wait for journald to store it.
public struct JournalLogHandler: LogHandler {
    public let label: String
    public let identifier: String
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let dynamicLevel: DynamicLogLevel
    private var levelOverride: Logger.Level?
    private let rateLimiter: SharedLogRateLimiter?

    public init(
        label: String,
        identifier: String,
        level: DynamicLogLevel = DynamicLogLevel(),
        rateLimiter: SharedLogRateLimiter? = SharedLogRateLimiter(),
        metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider
    ) {
        self.label = label
        self.identifier = identifier
        self.dynamicLevel = level
        self.rateLimiter = rateLimiter
        self.metadataProvider = metadataProvider
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
        for entry in rateLimiter?.entries(for: record) ?? [record] {
            Self.send(Self.fields(for: entry, identifier: identifier))
        }
    }

    /// The journal fields of a record, in the order they are sent.
    public static func fields(for record: LogRecord, identifier: String) -> [(name: String, value: String)] {
        var fields: [(name: String, value: String)] = [
            ("MESSAGE", record.message),
            ("PRIORITY", String(SyslogPriority(record.level).rawValue)),
            ("SYSLOG_IDENTIFIER", identifier),
            ("LOGGER", record.label),
        ]
        if !record.source.isEmpty { fields.append(("LOGGER_SOURCE", record.source)) }
        if !record.file.isEmpty {
            fields.append(("CODE_FILE", record.file))
            fields.append(("CODE_LINE", String(record.line)))
            fields.append(("CODE_FUNC", record.function))
        }
        if let error = record.error { fields.append(("ERROR", error)) }
        for (key, value) in record.flatMetadata {
            fields.append((JournalFieldName.sanitize(key), value))
        }
        return fields
    }

    /// Sends one entry; returns 0 or a negative errno. Never throws: logging must not fail the caller.
    @discardableResult
    public static func send(_ fields: [(name: String, value: String)]) -> Int32 {
        // All fields in one buffer, then one iovec per `NAME=value` slice of it.
        var buffer: [UInt8] = []
        var ranges: [Range<Int>] = []
        buffer.reserveCapacity(fields.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 1 })
        for field in fields {
            let start = buffer.count
            buffer.append(contentsOf: field.name.utf8)
            buffer.append(UInt8(ascii: "="))
            buffer.append(contentsOf: field.value.utf8)
            ranges.append(start..<buffer.count)
        }
        return buffer.withUnsafeMutableBytes { raw -> Int32 in
            guard let base = raw.baseAddress else { return -EINVAL }
            var vectors = ranges.map { iovec(iov_base: base + $0.lowerBound, iov_len: $0.count) }
            return vectors.withUnsafeMutableBufferPointer { iov in
                sd_journal_sendv(iov.baseAddress, Int32(iov.count))
            }
        }
    }
}
