import Foundation

/// What `pinpipe status` prints: one terminal screen, from one scrape of `/metrics`.
public struct StatusReport: Sendable {
    public let figures: MetricsSnapshot
    public let address: String
    public let now: Date

    public init(figures: MetricsSnapshot, address: String, now: Date = Date()) {
        self.figures = figures
        self.address = address
        self.now = now
    }

    /// Healthy (every actor's loop turns) and ready (started, not draining).
    public var isOK: Bool {
        figures.value(MetricName.watchdogOK) == 1 && figures.value(MetricName.ready) == 1
    }

    public var text: String {
        var lines: [String] = []
        let watchdog = figures.value(MetricName.watchdogOK) == 1
        let hung = figures.samples(MetricName.actorUp).filter { $0.value == 0 }.compactMap { $0.labels["actor"] }.sorted()
        let ready = figures.value(MetricName.ready) == 1
        let actors = figures.samples(MetricName.actorUp).compactMap { $0.labels["actor"] }.sorted()
        lines.append("pinpipe at \(address): \(ready ? "ready" : "NOT READY (starting or draining)"), watchdog "
            + (watchdog ? "OK" : "NOT OK, hung: \(hung.joined(separator: ", "))")
            + (actors.isEmpty ? "" : " (actors: \(actors.joined(separator: ", ")))"))
        var build: [String] = []
        if let info = figures.samples(MetricName.buildInfo).first?.labels {
            build = ["version \(info["version"] ?? "?")", "librdkafka \(info["librdkafka"] ?? "?")",
                     "libpq \(info["libpq"] ?? "?")"]
        }
        if let start = figures.value(MetricName.startTime) {
            build.append("up \(Self.age(now.timeIntervalSince1970 - start))")
        }
        if let rss = figures.value(MetricName.residentMemory) { build.append("RSS \(Self.bytes(rss))") }
        if let fds = figures.value(MetricName.openFDs) { build.append("\(Int(fds)) open fds") }
        if !build.isEmpty { lines.append(build.joined(separator: ", ")) }

        let rates = figures.sum(MetricName.throughput, by: "stage")
        if !rates.isEmpty {
            lines.append("records/s over the last minute: "
                + ["produced", "consumed", "uploaded"].compactMap { stage in
                    rates[stage].map { "\(stage) \(Self.count($0))" }
                }.joined(separator: ", "))
        }
        let read = figures.sum(MetricName.rowsRead, by: "table")
        if !read.isEmpty {
            lines.append("")
            lines.append("source: rows read " + read.sorted { $0.key < $1.key }
                .map { "\($0.key) \(Self.count($0.value))" }.joined(separator: ", ")
                + "; produced \(Self.count(figures.sum(MetricName.produced)))"
                + ", acknowledged \(Self.count(figures.sum(MetricName.acknowledged)))"
                + ", in flight \(Self.count(figures.sum(MetricName.inFlight)))"
                + ", database reconnects \(Self.count(figures.sum(MetricName.databaseReconnects)))")
            let checkpoints = figures.samples(MetricName.checkpointTime).sorted { ($0.labels["table"] ?? "") < ($1.labels["table"] ?? "") }
            if !checkpoints.isEmpty {
                lines.append("  checkpoint age: " + checkpoints.map {
                    "\($0.labels["table"] ?? "?") \(Self.age(now.timeIntervalSince1970 - $0.value))"
                }.joined(separator: ", "))
            }
        }
        let consumed = figures.sum(MetricName.consumed)
        let lag = figures.samples(MetricName.lag)
        if consumed > 0 || !lag.isEmpty || figures.value(MetricName.memoryLimit) != nil {
            lines.append("")
            var sink = "sink: consumed \(Self.count(consumed)), stored \(Self.count(figures.sum(MetricName.uploadedRecords)))"
                + " records in \(Self.count(figures.sum(MetricName.objects))) objects"
                + " (\(Self.bytes(figures.sum(MetricName.bytes))))"
            if let last = figures.value(MetricName.lastUpload) {
                sink += ", last upload \(Self.age(now.timeIntervalSince1970 - last)) ago"
            } else {
                sink += ", no upload yet"
            }
            lines.append(sink)
            let memory = figures.sum(MetricName.memory)
            let limit = figures.sum(MetricName.memoryLimit)
            lines.append("  memory \(Self.bytes(memory)) of \(Self.bytes(limit)), paused partitions "
                + "\(Int(figures.sum(MetricName.paused))), dead letters \(Self.count(figures.sum(MetricName.deadLetters)))"
                + ", S3 retries \(Self.count(figures.sum(MetricName.retries)))")
            let lost = figures.sum(MetricName.lostRecords)
            if lost > 0 {
                lines.append("  DATA LOSS: \(Self.count(lost)) records in \(Int(figures.sum(MetricName.lossRanges))) ranges (see the journal)")
            }
            if !lag.isEmpty {
                let sorted = lag.sorted {
                    ($0.labels["topic"] ?? "", Int($0.labels["partition"] ?? "") ?? 0)
                        < ($1.labels["topic"] ?? "", Int($1.labels["partition"] ?? "") ?? 0)
                }
                let width = max(5, sorted.map { ($0.labels["topic"] ?? "").count }.max() ?? 0)
                lines.append("  lag per partition (total \(Self.count(lag.reduce(0) { $0 + $1.value }))):")
                let shown = sorted.prefix(24)
                for sample in shown {
                    let topic = sample.labels["topic"] ?? "?"
                    lines.append("    " + topic.padding(toLength: width, withPad: " ", startingAt: 0)
                        + "  [" + (sample.labels["partition"] ?? "?") + "]  " + Self.count(sample.value))
                }
                if sorted.count > shown.count { lines.append("    ... and \(sorted.count - shown.count) more partitions") }
            }
        }
        let codes = figures.sum(MetricName.restRequests, by: "code")
        if !codes.isEmpty {
            lines.append("")
            let records = figures.sum(MetricName.restRecords, by: "topic")
            lines.append("rest: \(Self.count(codes.values.reduce(0, +))) requests ("
                + codes.sorted { $0.key < $1.key }.map { "\($0.key): \(Self.count($0.value))" }.joined(separator: ", ")
                + "), records " + (records.isEmpty ? "0" : records.sorted { $0.key < $1.key }
                    .map { "\($0.key) \(Self.count($0.value))" }.joined(separator: ", "))
                + ", failed \(Self.count(figures.sum(MetricName.restRecordErrors)))"
                + ", in flight \(Self.count(figures.sum(MetricName.restInFlight)))")
        }
        let errors = figures.sum(MetricName.errors)
        if errors > 0 { lines.append(""); lines.append("errors logged: \(Self.count(errors)) (journalctl -u pinpipe)") }
        return lines.joined(separator: "\n") + "\n"
    }

    static func count(_ value: Double) -> String {
        guard value.isFinite else { return "?" }
        if value < 10, value != value.rounded() { return String(format: "%.1f", value) }
        let whole = Int(value.rounded())
        var digits = String(abs(whole))
        var grouped = ""
        while digits.count > 3 {
            grouped = "," + digits.suffix(3) + grouped
            digits.removeLast(3)
        }
        return (whole < 0 ? "-" : "") + digits + grouped
    }

    static func bytes(_ value: Double) -> String {
        if value >= Double(1 << 30) { return String(format: "%.1f GiB", value / Double(1 << 30)) }
        if value >= Double(1 << 20) { return String(format: "%.1f MiB", value / Double(1 << 20)) }
        if value >= Double(1 << 10) { return String(format: "%.1f KiB", value / Double(1 << 10)) }
        return "\(Int(value)) B"
    }

    static func age(_ seconds: Double) -> String {
        let whole = max(0, Int(seconds.rounded()))
        if whole < 120 { return "\(whole) s" }
        if whole < 7200 { return "\(whole / 60) min" }
        return "\(whole / 3600) h \(whole % 3600 / 60) min"
    }
}
