import Logging

/// syslog(3) priorities as the journal's `PRIORITY=` field expects them.
public enum SyslogPriority: Int, Sendable, Comparable {
    case emergency = 0, alert, critical, error, warning, notice, info, debug

    /// swift-log has no emergency or alert level; `trace` folds into debug.
    public init(_ level: Logger.Level) {
        switch level {
        case .trace, .debug: self = .debug
        case .info: self = .info
        case .notice: self = .notice
        case .warning: self = .warning
        case .error: self = .error
        case .critical: self = .critical
        }
    }

    public static func < (lhs: SyslogPriority, rhs: SyslogPriority) -> Bool { lhs.rawValue < rhs.rawValue }
}
