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

    /// The pending summary if the current run's window has ended.
    public func expire() -> LogRateLimiter.Summary? {
        let now = clock.now
        return limiter.withLock { $0.expire(now: now) }
    }
}
