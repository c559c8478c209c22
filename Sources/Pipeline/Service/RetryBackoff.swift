/// Exponential backoff with full jitter, for the pipeline's own retry loops (outages of S3, Kafka, PostgreSQL).
struct RetryBackoff: Sendable {
    var initial: Duration
    var maximum: Duration
    private(set) var attempt = 0

    init(initial: Duration = .milliseconds(200), maximum: Duration = .seconds(30)) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The ceiling for the next wait: initial × 2^attempt, capped.
    func ceiling(forAttempt attempt: Int) -> Duration {
        let factor = 1 << min(attempt, 20)
        let value = initial * factor
        return value > maximum ? maximum : value
    }

    /// The next wait, drawn uniformly from [ceiling/2, ceiling] so retries never spin.
    mutating func next<R: RandomNumberGenerator>(using random: inout R) -> Duration {
        let ceiling = ceiling(forAttempt: attempt)
        attempt += 1
        let fraction = Double.random(in: 0.5...1.0, using: &random)
        return ceiling * fraction
    }

    mutating func next() -> Duration {
        var random = SystemRandomNumberGenerator()
        return next(using: &random)
    }

    mutating func reset() { attempt = 0 }
}
