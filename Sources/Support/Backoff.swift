/// The one retry timing of pinpipe: exponential backoff with jitter, for every retry loop (S3 requests, PostgreSQL
/// connects, the pipeline's outage loops, librdkafka's full local queue).
///
/// After failed attempt n (1-based) the ceiling is `min(maximum, initial · 2^(n-1))`, and the wait is a uniform
/// point in `[ceiling/2, ceiling]`: clients that fail together spread out, and no retry ever spins.
/// As a value it also counts attempts (`next()`, `reset()`) for loops that retry until something comes back.
public struct Backoff: Sendable, Equatable {
    public var initial: Duration
    public var maximum: Duration
    /// Attempts that failed since the last `reset()`.
    public private(set) var attempt = 0

    public init(initial: Duration = .milliseconds(200), maximum: Duration = .seconds(30)) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The ceiling after failed attempt `attempt` (1-based).
    public func ceiling(afterAttempt attempt: Int) -> Duration {
        let exponent = min(max(attempt - 1, 0), 30)
        return min(initial * (1 << exponent), maximum)
    }

    /// The wait after failed attempt `attempt` (1-based); `unit` is a draw from [0, 1].
    public func delay(afterAttempt attempt: Int, unit: Double) -> Duration {
        ceiling(afterAttempt: attempt) * (0.5 + 0.5 * min(max(unit, 0), 1))
    }

    /// Counts one more failed attempt and returns the wait before the next one.
    public mutating func next() -> Duration {
        attempt += 1
        return delay(afterAttempt: attempt, unit: Double.random(in: 0...1))
    }

    public mutating func reset() { attempt = 0 }
}
