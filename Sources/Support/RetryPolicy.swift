/// The one retry rule of pinpipe's bridges: ``Backoff``'s timing, for retriable errors only, up to a number of
/// attempts (nil: for as long as the error stays retriable). S3 requests and PostgreSQL connects use it with
/// their own figures (`RetryPolicy.s3Requests`, `RetryPolicy.postgresConnect`); the pipeline's outage loops use
/// ``Backoff`` directly because they retry for as long as the outage lasts.
///
/// The decision is a pure function of the attempt number, whether the error is retriable and a random draw, so
/// it is tested without I/O; the caller performs the wait (on its clock).
public struct RetryPolicy: Sendable, Equatable {
    public var backoff: Backoff
    /// Attempts in total, the first included; nil retries for as long as the error stays retriable.
    public var maxAttempts: Int?

    public init(initialDelay: Duration = .milliseconds(200), maxDelay: Duration = .seconds(30),
                maxAttempts: Int? = 10) {
        self.backoff = Backoff(initial: initialDelay, maximum: maxDelay)
        self.maxAttempts = maxAttempts
    }

    /// Never retry.
    public static let none = RetryPolicy(maxAttempts: 1)

    /// The same timing with another bound on the attempts.
    public func with(maxAttempts: Int?) -> RetryPolicy {
        var copy = self
        copy.maxAttempts = maxAttempts
        return copy
    }

    public enum Action: Sendable, Equatable {
        case retry(after: Duration)
        case giveUp
    }

    /// Whether another attempt follows failed attempt number `attempt` (1-based), the error being retriable.
    public func shouldRetry(afterAttempt attempt: Int) -> Bool {
        guard let maxAttempts else { return true }
        return attempt < maxAttempts
    }

    /// The wait after failed attempt number `attempt` (1-based); `unit` is a random draw from [0, 1].
    public func delay(afterAttempt attempt: Int, unit: Double) -> Duration {
        backoff.delay(afterAttempt: attempt, unit: unit)
    }

    /// What to do after attempt number `attempt` (1-based) failed; `random` is a draw from [0, 1].
    public func action(afterAttempt attempt: Int, isRetriable: Bool, random: Double) -> Action {
        guard isRetriable, shouldRetry(afterAttempt: attempt) else { return .giveUp }
        return .retry(after: delay(afterAttempt: attempt, unit: random))
    }
}
