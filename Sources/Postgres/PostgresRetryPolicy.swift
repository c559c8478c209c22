import Support

/// How `PostgresConnection.connect(_:retry:logger:)` retries retriable failures: `Backoff`'s timing, and a bound
/// on the attempts.
public struct PostgresRetryPolicy: Sendable, Equatable {
    public var backoff: Backoff
    /// Attempts in total, the first included; nil retries forever.
    public var maxAttempts: Int?

    public init(initialDelay: Duration = .milliseconds(500), maxDelay: Duration = .seconds(30), maxAttempts: Int? = 5) {
        self.backoff = Backoff(initial: initialDelay, maximum: maxDelay)
        self.maxAttempts = maxAttempts
    }

    /// Whether another attempt follows failed attempt number `attempt` (1-based).
    public func shouldRetry(afterAttempt attempt: Int) -> Bool {
        guard let maxAttempts else { return true }
        return attempt < maxAttempts
    }

    /// The wait after failed attempt number `attempt` (1-based); `unit` is a random number in [0, 1].
    public func delay(afterAttempt attempt: Int, unit: Double) -> Duration {
        backoff.delay(afterAttempt: attempt, unit: unit)
    }
}
