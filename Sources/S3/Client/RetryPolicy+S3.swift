import Support

extension RetryPolicy {
    /// S3 requests: 200 ms doubling up to 20 s, 10 attempts.
    public static let s3Requests = RetryPolicy(initialDelay: .milliseconds(200), maxDelay: .seconds(20), maxAttempts: 10)

    /// What to do after attempt number `attempt` (1-based) failed with `error` (its `isRetriable` decides).
    public func action(afterAttempt attempt: Int, error: S3Error, random: Double) -> Action {
        action(afterAttempt: attempt, isRetriable: error.isRetriable, random: random)
    }
}
