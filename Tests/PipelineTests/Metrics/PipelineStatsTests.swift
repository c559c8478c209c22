import Clocks
import Foundation
@testable import Pipeline
import Synchronization
import Systemd
import Support
import Testing

@Suite struct PipelineStatsTests {
    @Test func theExpositionCarriesEveryFigureWithBoundedLabels() {
        let stats = PipelineStats()
        stats.recordRowsRead(10, table: "pin")
        stats.recordProduced(10, topic: "t.pin")
        stats.acknowledgedCounter(topic: "t.pin").increment(by: 7)
        stats.recordConsumed(9, topic: "t.pin")
        stats.recordUpload(topic: "t.pin", records: 9, bytes: 900, reason: "records")
        stats.recordDeadLetters(["invalid literal at byte 3", "empty value", "invalid number at byte 9"], topic: "t.pin")
        stats.recordS3Request("put", duration: .milliseconds(30))
        stats.setLag([(topic: "t.pin", partition: 0, lag: 5), (topic: "t.pin", partition: 1, lag: 2)])
        let text = String(decoding: stats.exposition(), as: UTF8.self)
        #expect(text.contains(#"pinpipe_source_rows_read_total{table="pin"} 10"#))
        #expect(text.contains(#"pinpipe_source_records_acknowledged_total{topic="t.pin"} 7"#))
        #expect(text.contains(#"pinpipe_sink_objects_total{topic="t.pin",reason="records"} 1"#))
        #expect(text.contains(#"pinpipe_sink_bytes_total{topic="t.pin",reason="records"} 900"#))
        #expect(text.contains(#"pinpipe_sink_dead_letter_records_total{topic="t.pin",reason="invalid_json"} 2"#))
        #expect(text.contains(#"pinpipe_sink_dead_letter_records_total{topic="t.pin",reason="empty"} 1"#))
        #expect(text.contains(#"pinpipe_s3_request_duration_seconds_bucket{operation="put",le="0.05"} 1"#))
        #expect(text.contains(#"pinpipe_consumer_lag_records{topic="t.pin",partition="1"} 2"#))
        #expect(!text.contains("byte 3"), "a dead letter's position must not become a label value")
    }

    @Test func theStatusLineReadsTheExposedFigures() {
        let stats = PipelineStats()
        stats.recordProduced(30, topic: "t.pin")
        stats.acknowledgedCounter(topic: "t.pin").increment(by: 30)
        stats.recordConsumed(25, topic: "t.pin")
        stats.recordUpload(topic: "t.pin", records: 20, bytes: 1, reason: "age")
        stats.recordUpload(topic: "t.geo", records: 5, bytes: 1, reason: "drain")
        #expect(stats.statusLine(roles: ["produce", "sink"])
            == "produced 30 (acked 30), consumed 25, uploaded 25 in 2 objects, lag ?")
        stats.setLag([(topic: "t.pin", partition: 0, lag: 4), (topic: "t.geo", partition: 2, lag: 3)])
        stats.recordLoss(records: 12, topic: "t.pin", partition: 0)
        stats.recordError("boom")
        let line = stats.statusLine(roles: ["sink"])
        #expect(line == "consumed 25, uploaded 25 in 2 objects, lag 7, DATA LOSS: 12 records in 1 ranges (see the journal), last error: boom")
        // The line and a scrape agree because the line is computed from the scrape.
        let figures = stats.snapshot()
        #expect(figures.sum(MetricName.uploadedRecords) == 25)
        #expect(figures.sum(MetricName.lag) == 7)
    }

    @Test func revokedPartitionsLeaveTheLagAndCaughtUpZeroesIt() {
        let stats = PipelineStats()
        stats.setLag([(topic: "t.pin", partition: 0, lag: 4), (topic: "t.pin", partition: 1, lag: 3)])
        stats.setLag([(topic: "t.pin", partition: 1, lag: 2)])
        var lag = stats.snapshot().samples(MetricName.lag)
        #expect(lag.map { $0.labels["partition"] } == ["1"])
        stats.setCaughtUp([(topic: "t.pin", partition: 1)])
        lag = stats.snapshot().samples(MetricName.lag)
        #expect(lag.map(\.value) == [0])
        // Caught up before the first periodic lag figure: STATUS says 0, not "?".
        let early = PipelineStats()
        early.setCaughtUp([(topic: "t.pin", partition: 0), (topic: "t.geo", partition: 0)])
        #expect(early.statusLine(roles: ["sink"]).contains("lag 0"))
    }

    @Test func observersRunAtEveryScrape() {
        let stats = PipelineStats()
        let calls = CallCounter()
        stats.observe("test") {
            calls.increment()
            stats.gauge(MetricName.memory).record(calls.count * 100)
        }
        _ = stats.exposition()
        #expect(stats.snapshot().value(MetricName.memory) == 200)
    }

    @Test func deadLetterReasonsFallIntoAFixedSet() {
        let reasons = ["empty value", "not a JSON object (records are one object per line)", "invalid UTF-8 at byte 2",
                       "invalid UTF-8 (overlong encoding) at byte 7", "unexpected data after the JSON value at byte 4",
                       "expected ':' at byte 12", "nesting too deep at byte 600"]
        #expect(Set(reasons.map(DeadLetterReason.category(of:)))
            == ["empty", "not_object", "invalid_utf8", "trailing_data", "invalid_json"])
    }
}

final class CallCounter: Sendable {
    private let value = Mutex<Int>(0)
    func increment() { value.withLock { $0 += 1 } }
    var count: Int { value.withLock { $0 } }
}

@Suite struct MetricsSnapshotTests {
    @Test func parsesSamplesLabelsEscapesAndSpecialValues() {
        let text = """
            # HELP x_total things
            # TYPE x_total counter
            x_total 3
            y{a="1",b="with \\"quote\\" and \\\\ and \\n"} 2.5
            h_bucket{le="+Inf"} 4
            z NaN
            broken{a="1" 3
            """
        let figures = MetricsSnapshot(parsing: text)
        #expect(figures.value("x_total") == 3)
        #expect(figures.samples("y").first?.labels == ["a": "1", "b": "with \"quote\" and \\ and \n"])
        #expect(figures.value("y", matching: ["a": "1"]) == 2.5)
        #expect(figures.value("h_bucket", matching: ["le": "+Inf"]) == 4)
        #expect(figures.value("z")?.isNaN == true)
        #expect(figures.samples("broken").isEmpty)
    }
}

@Suite struct HealthReportTests {
    @Test func aStaleHeartbeatIsNamedAndFailsTheCheckAsTheWatchdogWould() async throws {
        let clock = TestClock()
        let heartbeats = Heartbeats(clock: PipelineClock(clock))
        heartbeats.register("source")
        heartbeats.register("sink")
        await clock.advance(by: .milliseconds(300))
        heartbeats.beat("source")
        let report = HealthReport(heartbeats: heartbeats, staleAfter: .milliseconds(200))
        #expect(report.hung == ["sink"])
        #expect(!report.isHealthy)
        #expect(report.json.hasPrefix(#"{"status":"hung","hung":["sink"],"stale_after_seconds":0.2,"actors":{"#))
        // The watchdog's own decision on the same ages says the same.
        var decision = WatchdogDecision(staleAfter: .milliseconds(200))
        #expect(decision.evaluate(ages: heartbeats.ages()).hung == report.hung)
    }

    @Test func withoutAThresholdNothingIsHung() {
        let heartbeats = Heartbeats()
        heartbeats.register("sink")
        let report = HealthReport(heartbeats: heartbeats, staleAfter: nil)
        #expect(report.isHealthy)
        #expect(report.json.contains(#""stale_after_seconds":null"#))
    }
}

@Suite struct ThroughputWindowTests {
    @Test func ratesAreOverTheLastMinute() {
        var window = ThroughputWindow(window: 60)
        #expect(window.add(time: 0, totals: ["uploaded": 0]) == ["uploaded": 0])
        #expect(window.add(time: 10, totals: ["uploaded": 100]) == ["uploaded": 10])
        for second in stride(from: 20.0, through: 120, by: 10) {
            _ = window.add(time: second, totals: ["uploaded": 100 + (second - 10) * 5])
        }
        // From t=60 (350) to t=120 (650): 5 records/s, the first burst has left the window.
        #expect(window.add(time: 120, totals: ["uploaded": 650])["uploaded"] == 5)
    }
}

@Suite struct StatusReportTests {
    @Test func oneScreenFromOneScrape() {
        let stats = PipelineStats()
        stats.recordRowsRead(11_153, table: "pin")
        stats.recordProduced(11_153, topic: "t.pin")
        stats.recordConsumed(11_153, topic: "t.pin")
        stats.recordUpload(topic: "t.pin", records: 11_000, bytes: 3 << 20, reason: "records",
                           at: Date(timeIntervalSince1970: 1_000_000 - 42))
        stats.setLag([(topic: "t.pin", partition: 0, lag: 153), (topic: "t.pin", partition: 1, lag: 0)])
        stats.gauge(MetricName.watchdogOK).record(0)
        stats.gauge(MetricName.actorUp, [("actor", "sink")]).record(0)
        stats.gauge(MetricName.actorUp, [("actor", "source")]).record(1)
        stats.gauge(MetricName.ready).record(1)
        stats.gauge(MetricName.throughput, [("stage", "uploaded")]).record(183.3)
        let report = StatusReport(figures: stats.snapshot(), address: "127.0.0.1:9464",
                                  now: Date(timeIntervalSince1970: 1_000_000))
        let text = report.text
        #expect(!report.isOK)
        #expect(text.contains("watchdog NOT OK, hung: sink"))
        #expect(text.contains("records/s over the last minute: uploaded 183"))
        #expect(text.contains("stored 11,000 records in 1 objects (3.0 MiB), last upload 42 s ago"))
        #expect(text.contains("lag per partition (total 153)"))
        #expect(text.contains("t.pin  [0]  153"))
        #expect(text.split(separator: "\n").count < 25, "fits one screen:\n\(text)")
    }

    @Test func theRestRoleGetsItsLine() {
        let stats = PipelineStats()
        stats.recordRestRequest(status: 200, duration: .milliseconds(2))
        stats.recordRestRequest(status: 200, duration: .milliseconds(2))
        stats.recordRestRequest(status: 422, duration: .zero)
        stats.recordRestRecords(topic: "t.pin", acknowledged: 101, failed: 1)
        let text = StatusReport(figures: stats.snapshot(), address: "127.0.0.1:9464", now: Date()).text
        #expect(text.contains("rest: 3 requests (200: 2, 422: 1), records t.pin 101, failed 1, in flight 0"), "\(text)")
    }
}
