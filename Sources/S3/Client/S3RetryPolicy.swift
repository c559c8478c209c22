/// When to try an S3 request again: exponential backoff with full jitter, for retriable errors only.
///
/// The decision is a pure function of the attempt number, the error and a random draw, so it is tested
/// without I/O; the client performs the sleep.
public struct S3RetryPolicy: Sendable, Equatable {
    /// Attempts in total, the first included; nil retries for as long as the error stays retriable.
    public var maxAttempts: Int?
    /// The backoff ceiling after the first failure; it doubles with each attempt.
    public var initialDelay: Duration
    /// The largest backoff ceiling.
    public var maxDelay: Duration

    public init(maxAttempts: Int? = 10, initialDelay: Duration = .milliseconds(200), maxDelay: Duration = .seconds(20)) {
        self.maxAttempts = maxAttempts
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
    }

    /// Never retry.
    public static let none = S3RetryPolicy(maxAttempts: 1)

    public enum Action: Sendable, Equatable {
        case retry(after: Duration)
        case giveUp
    }

    /// What to do after attempt number `attempt` (1-based) failed with `error`. `random` is a draw from
    /// `0..<1` that picks the delay uniformly in `0...ceiling` ("full jitter").
    public func action(afterAttempt attempt: Int, error: S3Error, random: Double) -> Action {
        guard error.isRetriable else { return .giveUp }
        if let maxAttempts, attempt >= maxAttempts { return .giveUp }
        return .retry(after: backoffCeiling(afterAttempt: attempt) * min(max(random, 0), 1))
    }

    /// `min(maxDelay, initialDelay * 2^(attempt-1))`.
    public func backoffCeiling(afterAttempt attempt: Int) -> Duration {
        let exponent = min(max(attempt - 1, 0), 30)
        let ceiling = initialDelay * (1 << exponent)
        return min(ceiling, maxDelay)
    }
}
