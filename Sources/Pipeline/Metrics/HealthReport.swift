import Systemd

/// The watchdog's verdict as `/healthz` reports it: healthy while no heartbeat is older than the stale threshold.
///
/// The threshold and the rule are the ones `WatchdogSupervisor` applies (`WatchdogDecision`), so the endpoint says
/// 503 exactly when systemd stops getting `WATCHDOG=1`.
public struct HealthReport: Sendable, Equatable {
    /// Registered actors and the seconds since each one's loop last turned.
    public var ages: [String: Double]
    /// Actors whose heartbeat is older than the threshold, sorted.
    public var hung: [String]
    /// nil when hang detection is off (no watchdog and no `health.stale_after`).
    public var staleAfter: Double?

    public var isHealthy: Bool { hung.isEmpty }

    public init(heartbeats: Heartbeats, staleAfter: Duration?) {
        let ages = heartbeats.ages()
        self.ages = ages.mapValues(Self.seconds)
        self.staleAfter = staleAfter.map(Self.seconds)
        if let staleAfter {
            var decision = WatchdogDecision(staleAfter: staleAfter)
            hung = decision.evaluate(ages: ages).hung
        } else {
            hung = []
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// `{"status":"ok"|"hung","hung":[...],"stale_after_seconds":N|null,"actors":{"sink":0.12,...}}`
    public var json: String {
        let actors = ages.sorted { $0.key < $1.key }
            .map { "\(JSONText.quote($0.key)):\(JSONText.number($0.value))" }.joined(separator: ",")
        return "{\"status\":\"\(isHealthy ? "ok" : "hung")\",\"hung\":[\(hung.map(JSONText.quote).joined(separator: ","))],"
            + "\"stale_after_seconds\":\(staleAfter.map(JSONText.number) ?? "null"),\"actors\":{\(actors)}}\n"
    }
}

/// Just enough JSON writing for the endpoints' small bodies.
enum JSONText {
    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                        + String(scalar.value, radix: 16)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    static func number(_ value: Double) -> String {
        value.isFinite ? String((value * 1000).rounded() / 1000) : "null"
    }
}
