/// Records per second over the last minute, from samples of the running totals (for `pinpipe status`, which
/// takes one scrape; Prometheus computes its own rates from the counters).
struct ThroughputWindow: Sendable {
    let window: Double
    private var samples: [(time: Double, totals: [String: Double])] = []

    init(window: Double = 60) {
        self.window = window
    }

    /// Adds a sample taken at `time` (seconds on a monotonic clock) and returns the rate of each total since the
    /// oldest sample at most `window` old (or since the first sample, in the first minute).
    mutating func add(time: Double, totals: [String: Double]) -> [String: Double] {
        samples.append((time, totals))
        // Keep the newest sample at least `window` old as the base, and everything after it.
        while samples.count > 2, time - samples[1].time >= window { samples.removeFirst() }
        guard let base = samples.first, time > base.time else { return totals.mapValues { _ in 0 } }
        let elapsed = time - base.time
        return totals.mapValues { _ in 0 }.merging(totals.map { name, value in
            (name, max(0, value - (base.totals[name] ?? 0)) / elapsed)
        }) { $1 }
    }
}
