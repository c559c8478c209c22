import Logging

/// One log entry as both handlers write it: metadata merged (handler, provider, call site) and secrets masked.
public struct LogRecord: Sendable {
    public var level: Logger.Level
    public var message: String
    public var label: String
    public var metadata: Logger.Metadata
    public var source: String
    public var file: String
    public var function: String
    public var line: UInt
    public var error: String?

    public init(
        level: Logger.Level, message: String, label: String, metadata: Logger.Metadata = [:],
        source: String = "", file: String = #fileID, function: String = #function, line: UInt = #line,
        error: String? = nil
    ) {
        self.level = level
        self.message = message
        self.label = label
        self.metadata = LogSecrets.redact(metadata)
        self.source = source
        self.file = file
        self.function = function
        self.line = line
        self.error = error
    }

    /// Builds the record for an event; call-site metadata wins over the provider's, which wins over the handler's.
    public init(
        event: LogEvent, label: String, handlerMetadata: Logger.Metadata, provider: Logger.MetadataProvider?
    ) {
        var merged = handlerMetadata
        if let provided = provider?.get() { merged.merge(provided) { _, new in new } }
        if let own = event.metadata { merged.merge(own) { _, new in new } }
        self.init(
            level: event.level, message: event.message.description, label: label, metadata: merged,
            source: event.source, file: event.file, function: event.function, line: event.line,
            error: event.error.map { String(describing: $0) })
    }

    /// A summary of suppressed repeats, as a record of its own.
    public init(summary: LogRateLimiter.Summary) {
        self.init(
            level: summary.key.level, message: summary.message, label: summary.key.label,
            metadata: ["pinpipe.suppressed": "\(summary.suppressed)"], source: "", file: "", function: "", line: 0)
    }

    /// Metadata flattened to text: nested dictionaries become `outer.inner` keys, arrays are rendered inline.
    public var flatMetadata: [(key: String, value: String)] {
        var out: [(key: String, value: String)] = []
        Self.flatten(metadata, prefix: "", into: &out)
        return out.sorted { $0.key < $1.key }
    }

    private static func flatten(_ metadata: Logger.Metadata, prefix: String, into out: inout [(key: String, value: String)]) {
        for (key, value) in metadata {
            let path = prefix.isEmpty ? key : "\(prefix).\(key)"
            switch value {
            case .dictionary(let nested): flatten(nested, prefix: path, into: &out)
            default: out.append((path, render(value)))
            }
        }
    }

    static func render(_ value: Logger.MetadataValue) -> String {
        switch value {
        case .string(let text): return text
        case .stringConvertible(let convertible): return convertible.description
        case .array(let items): return "[" + items.map(render).joined(separator: ", ") + "]"
        case .dictionary(let nested):
            return "[" + nested.sorted { $0.key < $1.key }.map { "\($0.key): \(render($0.value))" }
                .joined(separator: ", ") + "]"
        }
    }
}
