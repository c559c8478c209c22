/// How `PostgresConnection.connect(_:retry:logger:)` retries retriable failures.
public struct PostgresRetryPolicy: Sendable, Equatable {
    /// The delay before the second attempt; it doubles after every failure up to `maxDelay`.
    public var initialDelay: Duration
    public var maxDelay: Duration
    /// Attempts in total, the first included; nil retries forever.
    public var maxAttempts: Int?

    public init(initialDelay: Duration = .milliseconds(500), maxDelay: Duration = .seconds(30), maxAttempts: Int? = 5) {
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.maxAttempts = maxAttempts
    }

    /// Whether another attempt follows failed attempt number `attempt` (1-based).
    public func shouldRetry(afterAttempt attempt: Int) -> Bool {
        guard let maxAttempts else { return true }
        return attempt < maxAttempts
    }

    /// The backoff after failed attempt number `attempt` (1-based), before jitter: initialDelay · 2^(attempt-1),
    /// capped at maxDelay.
    public func baseDelay(afterAttempt attempt: Int) -> Duration {
        var delay = initialDelay
        var n = 1
        while n < attempt && delay < maxDelay {
            delay = delay * 2
            n += 1
        }
        return min(delay, maxDelay)
    }

    /// The backoff with jitter: a uniformly random point in [base/2, base], so reconnecting clients spread out.
    /// `unit` is a random number in [0, 1].
    public func delay(afterAttempt attempt: Int, unit: Double) -> Duration {
        let base = baseDelay(afterAttempt: attempt)
        return base * (0.5 + 0.5 * min(max(unit, 0), 1))
    }
}
