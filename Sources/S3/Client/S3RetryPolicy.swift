import Support

/// When to try an S3 request again: `Backoff`'s timing, for retriable errors only, up to a number of attempts.
///
/// The decision is a pure function of the attempt number, the error and a random draw, so it is tested
/// without I/O; the client performs the sleep.
public struct S3RetryPolicy: Sendable, Equatable {
    /// Attempts in total, the first included; nil retries for as long as the error stays retriable.
    public var maxAttempts: Int?
    public var backoff: Backoff

    public init(maxAttempts: Int? = 10, initialDelay: Duration = .milliseconds(200), maxDelay: Duration = .seconds(20)) {
        self.maxAttempts = maxAttempts
        self.backoff = Backoff(initial: initialDelay, maximum: maxDelay)
    }

    /// Never retry.
    public static let none = S3RetryPolicy(maxAttempts: 1)

    public enum Action: Sendable, Equatable {
        case retry(after: Duration)
        case giveUp
    }

    /// What to do after attempt number `attempt` (1-based) failed with `error`; `random` is a draw from [0, 1].
    public func action(afterAttempt attempt: Int, error: S3Error, random: Double) -> Action {
        guard error.isRetriable else { return .giveUp }
        if let maxAttempts, attempt >= maxAttempts { return .giveUp }
        return .retry(after: backoff.delay(afterAttempt: attempt, unit: random))
    }
}
