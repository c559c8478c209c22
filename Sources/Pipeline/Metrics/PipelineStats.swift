import CoreMetrics
import Foundation
import Prometheus
import Synchronization

/// pinpipe's figures: swift-metrics instruments over one Prometheus registry, updated by the actors.
///
/// There is one set of numbers. `/metrics` serves the registry's exposition; the STATUS line and `pinpipe
/// status` are computed from that same exposition (``snapshot()``), so they can never disagree with a scrape.
/// Handles are created once per label set and cached; the hot paths (per poll batch, per delivery report) cost
/// one dictionary look-up under a lock and one relaxed atomic add.
public final class PipelineStats: Sendable {
    /// What `/metrics` serves.
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory
    private let counters = Mutex<[String: CoreMetrics.Counter]>([:])
    private let gauges = Mutex<[String: CoreMetrics.Gauge]>([:])
    private let timers = Mutex<[String: CoreMetrics.Timer]>([:])
    private let lagPartitions = Mutex<Set<String>>([])
    /// Figures read at scrape time (memory in use, records in flight, process figures), by name.
    private let observers = Mutex<[String: @Sendable () -> Void]>([:])
    private let state = Mutex<State>(State())

    private struct State {
        var lastError: String?
        var outage: String?
    }

    /// - Parameter registry: a fresh one per pipeline (tests run several in one process).
    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets[MetricName.restRequestDuration] = [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1), .seconds(5),
            .seconds(30),
        ]
        factory.durationHistogramBuckets[MetricName.s3RequestDuration] = [
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
            .seconds(30),
        ]
        self.factory = factory
    }

    // MARK: Instruments

    func counter(_ name: String, _ labels: [(String, String)] = []) -> CoreMetrics.Counter {
        let key = Self.key(name, labels)
        return counters.withLock { cache in
            if let existing = cache[key] { return existing }
            let made = CoreMetrics.Counter(label: name, dimensions: labels, factory: factory)
            cache[key] = made
            return made
        }
    }

    func gauge(_ name: String, _ labels: [(String, String)] = []) -> CoreMetrics.Gauge {
        let key = Self.key(name, labels)
        return gauges.withLock { cache in
            if let existing = cache[key] { return existing }
            let made = CoreMetrics.Gauge(label: name, dimensions: labels, factory: factory)
            cache[key] = made
            return made
        }
    }

    func timer(_ name: String, _ labels: [(String, String)] = []) -> CoreMetrics.Timer {
        let key = Self.key(name, labels)
        return timers.withLock { cache in
            if let existing = cache[key] { return existing }
            let made = CoreMetrics.Timer(label: name, dimensions: labels, factory: factory)
            cache[key] = made
            return made
        }
    }

    private func removeGauge(_ name: String, _ labels: [(String, String)]) {
        let key = Self.key(name, labels)
        if let gauge = gauges.withLock({ $0.removeValue(forKey: key) }) { gauge.destroy() }
    }

    private static func key(_ name: String, _ labels: [(String, String)]) -> String {
        labels.isEmpty ? name : name + labels.map { "\u{1}\($0.0)=\($0.1)" }.joined()
    }

    /// Runs `body` before every exposition, for figures that are read rather than counted. A second
    /// registration under the same name replaces the first.
    public func observe(_ name: String, _ body: @escaping @Sendable () -> Void) {
        observers.withLock { $0[name] = body }
    }

    public func stopObserving(_ name: String) {
        _ = observers.withLock { $0.removeValue(forKey: name) }
    }

    // MARK: Source

    public func recordRowsRead(_ count: Int, table: String) {
        counter(MetricName.rowsRead, [("table", table)]).increment(by: count)
    }

    /// Rows produced with a null key because their key column was NULL.
    public func recordRowsWithoutKey(_ count: Int, table: String) {
        counter(MetricName.rowsWithoutKey, [("table", table)]).increment(by: count)
    }

    public func recordProduced(_ count: Int, topic: String) {
        counter(MetricName.produced, [("topic", topic)]).increment(by: count)
    }

    /// The counter of acknowledged records of `topic`, for a delivery callback (resolve it once, not per record).
    public func acknowledgedCounter(topic: String) -> CoreMetrics.Counter {
        counter(MetricName.acknowledged, [("topic", topic)])
    }

    public func recordDatabaseReconnect() { counter(MetricName.databaseReconnects).increment() }

    /// Change data capture: changes produced, by operation (`r` snapshot, `c`, `u`, `d`, `t`).
    public func recordChanges(_ count: Int, op: String) { counter(MetricName.cdcChanges, [("op", op)]).increment(by: count) }

    /// Change data capture: WAL the slot holds back (the server's end of WAL minus the confirmed position), and how
    /// old the newest streamed commit is while changes are pending.
    public func setReplicationLag(bytes: Int64, seconds: Double, confirmed: UInt64) {
        gauge(MetricName.cdcLagBytes).record(bytes)
        gauge(MetricName.cdcLagSeconds).record(seconds)
        gauge(MetricName.cdcConfirmed).record(Double(confirmed))
    }

    /// The source position of `tables` was made durable (checkpoint file saved, or transaction committed).
    public func recordCheckpoint(tables: some Sequence<String>, at date: Date = Date()) {
        for table in tables {
            gauge(MetricName.checkpointTime, [("table", table)]).record(date.timeIntervalSince1970)
        }
    }

    // MARK: Consumer

    public func recordConsumed(_ count: Int, topic: String) {
        counter(MetricName.consumed, [("topic", topic)]).increment(by: count)
    }

    /// The lag of every assigned partition (partitions no longer listed are dropped from the exposition).
    public func setLag(_ lag: [(topic: String, partition: Int32, lag: Int64)]) {
        var now: Set<String> = []
        for entry in lag {
            let labels = [("topic", entry.topic), ("partition", String(entry.partition))]
            gauge(MetricName.lag, labels).record(max(0, entry.lag))
            now.insert(entry.topic + "\u{1}" + String(entry.partition))
        }
        let gone = lagPartitions.withLock { known in
            defer { known = now }
            return known.subtracting(now)
        }
        for key in gone {
            let parts = key.split(separator: "\u{1}", omittingEmptySubsequences: false)
            removeGauge(MetricName.lag, [("topic", String(parts[0])), ("partition", String(parts[1]))])
        }
    }

    /// Every record of `assigned` is handed over: the lag is 0, whatever the last periodic figure said (or if
    /// there was none yet).
    public func setCaughtUp(_ assigned: [(topic: String, partition: Int32)]) {
        let known = lagPartitions.withLock { $0 }.map { key -> (topic: String, partition: Int32) in
            let parts = key.split(separator: "\u{1}", omittingEmptySubsequences: false)
            return (String(parts[0]), Int32(parts[1]) ?? 0)
        }
        setLag((known + assigned).map { (topic: $0.topic, partition: $0.partition, lag: 0) })
    }

    public func setPausedPartitions(_ count: Int) { gauge(MetricName.paused).record(count) }

    public enum RebalanceEvent: String, Sendable { case assigned, revoked }

    public func recordRebalance(_ event: RebalanceEvent) {
        counter(MetricName.rebalances, [("event", event.rawValue)]).increment()
    }

    // MARK: Sink

    /// An object was stored and its offsets committed.
    public func recordUpload(topic: String, records: Int, bytes: Int, reason: String, at date: Date = Date()) {
        counter(MetricName.uploadedRecords, [("topic", topic)]).increment(by: records)
        counter(MetricName.objects, [("topic", topic), ("reason", reason)]).increment()
        counter(MetricName.bytes, [("topic", topic), ("reason", reason)]).increment(by: bytes)
        gauge(MetricName.lastUpload).record(date.timeIntervalSince1970)
    }

    /// One S3 request's duration, successful or not; `operation` is one of a fixed few (put, dead_letter).
    public func recordS3Request(_ operation: String, duration: Duration) {
        let (seconds, attoseconds) = duration.components
        timer(MetricName.s3RequestDuration, [("operation", operation)])
            .recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    /// A retried step; `cause` is one of a fixed few (s3_put, dead_letter_write, offset_commit).
    public func recordRetry(cause: String) { counter(MetricName.retries, [("cause", cause)]).increment() }

    public func recordDeadLetters(_ reasons: [String], topic: String) {
        var byCategory: [String: Int] = [:]
        for reason in reasons { byCategory[DeadLetterReason.category(of: reason), default: 0] += 1 }
        for (category, count) in byCategory {
            counter(MetricName.deadLetters, [("topic", topic), ("reason", category)]).increment(by: count)
        }
    }

    public func recordLoss(records: Int64, topic: String, partition: Int32) {
        let labels = [("topic", topic), ("partition", String(partition))]
        counter(MetricName.lostRecords, labels).increment(by: Int(records))
        counter(MetricName.lossRanges, labels).increment()
    }

    // MARK: REST endpoint

    /// One answered request: its HTTP status and how long it took (body read to reply).
    public func recordRestRequest(status: Int, duration: Duration) {
        counter(MetricName.restRequests, [("code", String(status))]).increment()
        let (seconds, attoseconds) = duration.components
        timer(MetricName.restRequestDuration).recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    /// Records of one request that Kafka acknowledged, and those that failed.
    public func recordRestRecords(topic: String, acknowledged: Int, failed: Int) {
        if acknowledged > 0 { counter(MetricName.restRecords, [("topic", topic)]).increment(by: acknowledged) }
        if failed > 0 { counter(MetricName.restRecordErrors, [("topic", topic)]).increment(by: failed) }
    }

    // MARK: Errors and outages (text for STATUS; the count is a metric)

    public func recordError(_ message: String) {
        counter(MetricName.errors).increment()
        state.withLock { $0.lastError = message }
    }

    /// A dependency outage in progress (nil when it ended): shown in STATUS, not a hang.
    public func setOutage(_ message: String?) { state.withLock { $0.outage = message } }

    public var lastError: String? { state.withLock { $0.lastError } }
    public var outage: String? { state.withLock { $0.outage } }

    // MARK: Reading back

    /// The exposition `/metrics` serves, after the observers ran.
    public func exposition() -> [UInt8] {
        let current = observers.withLock { Array($0.values) }
        for body in current { body() }
        return registry.emitToBuffer()
    }

    /// The current figures, parsed from the same exposition `/metrics` serves.
    public func snapshot() -> MetricsSnapshot {
        MetricsSnapshot(parsing: String(decoding: exposition(), as: UTF8.self))
    }

    /// Records acknowledged plus records stored: moves while a drain makes progress.
    public var drainProgress: Double {
        let figures = snapshot()
        return figures.sum(MetricName.acknowledged) + figures.sum(MetricName.uploadedRecords)
    }

    /// The one-line summary sent as STATUS= to systemd.
    public func statusLine(roles: Set<String>) -> String {
        let (lastError, outage) = state.withLock { ($0.lastError, $0.outage) }
        return StatusSummary.line(snapshot(), roles: roles, outage: outage, lastError: lastError)
    }
}
