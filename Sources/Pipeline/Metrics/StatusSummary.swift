/// The STATUS line, computed from a metrics snapshot: the figures systemd shows are the ones a scrape shows.
enum StatusSummary {
    static func line(_ figures: MetricsSnapshot, roles: Set<String>, outage: String?, lastError: String?) -> String {
        func count(_ name: String) -> Int { Int(figures.sum(name)) }
        var parts: [String] = []
        if roles.contains("produce") {
            parts.append("produced \(count(MetricName.produced)) (acked \(count(MetricName.acknowledged)))")
            if let lag = figures.samples(MetricName.cdcLagBytes).first {
                let seconds = figures.samples(MetricName.cdcLagSeconds).first?.value ?? 0
                parts.append("replication lag \(Int(lag.value)) bytes, \(Int(seconds)) s")
            }
        }
        if roles.contains("sink") {
            parts.append("consumed \(count(MetricName.consumed))")
            parts.append("uploaded \(count(MetricName.uploadedRecords)) in \(count(MetricName.objects)) objects")
            let lag = figures.samples(MetricName.lag)
            parts.append("lag \(lag.isEmpty ? "?" : String(Int(lag.reduce(0) { $0 + $1.value })))")
            let dead = count(MetricName.deadLetters)
            if dead > 0 { parts.append("dead-letter \(dead)") }
            let lost = count(MetricName.lostRecords)
            if lost > 0 {
                parts.append("DATA LOSS: \(lost) records in \(count(MetricName.lossRanges)) ranges (see the journal)")
            }
        }
        if let outage { parts.append("OUTAGE: \(outage)") }
        if let lastError { parts.append("last error: \(lastError)") }
        return parts.joined(separator: ", ")
    }
}
