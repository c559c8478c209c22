import Support

extension RetryPolicy {
    /// PostgreSQL connects: 500 ms doubling up to 30 s, 5 attempts.
    public static let postgresConnect = RetryPolicy(initialDelay: .milliseconds(500), maxDelay: .seconds(30), maxAttempts: 5)
}
