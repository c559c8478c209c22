import Logging

/// Suppresses bursts of one identical log entry and summarises them.
///
/// Only entries at or above `minimumLevel` (default warning) take part. When the same entry (level, message
/// and logger label) repeats back to back within `window`, the first `burst` pass and the rest are counted.
/// The count comes back as a `Summary` when the window ends (seen at the next entry or an `expire(now:)`
/// call) or when a different entry arrives. Lower levels pass untouched and do not interrupt a run.
/// A pure value: the caller supplies the time and does the writing.
public struct LogRateLimiter: Sendable {
    public struct Key: Hashable, Sendable {
        public var level: Logger.Level
        public var message: String
        public var label: String

        public init(level: Logger.Level, message: String, label: String) {
            self.level = level
            self.message = message
            self.label = label
        }
    }

    /// A run of suppressed entries, to be logged as one line.
    public struct Summary: Sendable, Equatable {
        public var key: Key
        public var suppressed: Int

        /// The line to log at `key.level` for `key.label`.
        public var message: String {
            "\(key.message) ... repeated \(suppressed) more time\(suppressed == 1 ? "" : "s") (suppressed)"
        }
    }

    /// Whether to write the entry, and summaries to write before it.
    public struct Verdict: Sendable, Equatable {
        public var emit: Bool
        public var summaries: [Summary]
    }

    public let window: Duration
    public let burst: Int
    public let minimumLevel: Logger.Level

    private var current: Key?
    private var windowStart: ContinuousClock.Instant?
    private var count = 0
    private var suppressed = 0

    public init(window: Duration = .seconds(10), burst: Int = 3, minimumLevel: Logger.Level = .warning) {
        self.window = window
        self.burst = max(1, burst)
        self.minimumLevel = minimumLevel
    }

    public mutating func admit(
        level: Logger.Level, message: String, label: String, now: ContinuousClock.Instant
    ) -> Verdict {
        guard level >= minimumLevel else { return Verdict(emit: true, summaries: []) }
        let key = Key(level: level, message: message, label: label)
        if key == current, let start = windowStart, now - start < window {
            count += 1
            if count <= burst { return Verdict(emit: true, summaries: []) }
            suppressed += 1
            return Verdict(emit: false, summaries: [])
        }
        let summaries = closeRun()
        current = key
        windowStart = now
        count = 1
        return Verdict(emit: true, summaries: summaries)
    }

    /// The summary of the current run if its window has ended by `now` (then the run is closed).
    public mutating func expire(now: ContinuousClock.Instant) -> Summary? {
        guard let start = windowStart, now - start >= window else { return nil }
        return closeRun().first
    }

    private mutating func closeRun() -> [Summary] {
        defer {
            current = nil
            windowStart = nil
            count = 0
            suppressed = 0
        }
        guard let current, suppressed > 0 else { return [] }
        return [Summary(key: current, suppressed: suppressed)]
    }
}
