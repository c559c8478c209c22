import Logging
import Synchronization

/// One `LogRateLimiter` shared by every handler copy of the process (handlers are values, copied per logger).
public final class SharedLogRateLimiter: Sendable {
    private let limiter: Mutex<LogRateLimiter>
    private let clock = ContinuousClock()

    public init(_ limiter: LogRateLimiter = LogRateLimiter()) {
        self.limiter = Mutex(limiter)
    }

    public func admit(level: Logger.Level, message: String, label: String) -> LogRateLimiter.Verdict {
        let now = clock.now
        return limiter.withLock { $0.admit(level: level, message: message, label: label, now: now) }
    }

    /// What a handler writes for `record`: the summaries of bursts that ended, then the record itself unless the
    /// limiter suppresses it as a repeat.
    public func entries(for record: LogRecord) -> [LogRecord] {
        var entries: [LogRecord] = []
        if let expired = expire() { entries.append(LogRecord(summary: expired)) }
        let verdict = admit(level: record.level, message: record.message, label: record.label)
        entries += verdict.summaries.map { LogRecord(summary: $0) }
        if verdict.emit { entries.append(record) }
        return entries
    }

    /// The pending summary if the current run's window has ended.
    public func expire() -> LogRateLimiter.Summary? {
        let now = clock.now
        return limiter.withLock { $0.expire(now: now) }
    }
}
