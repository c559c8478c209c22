import HTTPServer
import Logging
import NIOCore
import NIOHTTP1
@testable import Pipeline
import Synchronization
import Systemd
import Testing

/// The endpoints' answers, through the router (the socket side is HTTPServerTests' and MetricsEndpointTests').
@Suite struct ObservabilityServiceTests {
    final class Draining: Sendable {
        let value = Atomic<Bool>(false)
    }

    func make(heartbeats: Heartbeats = Heartbeats(), staleAfter: Duration? = .seconds(30),
              draining: Draining = Draining()) -> (ObservabilityService, PipelineStats) {
        let stats = PipelineStats()
        let service = ObservabilityService(
            listen: nil, stats: stats, heartbeats: heartbeats, staleAfter: staleAfter,
            isDraining: { draining.value.load(ordering: .relaxed) },
            buildInfo: [("version", "test"), ("librdkafka", "2.0.2"), ("libpq", "15")], logger: Logger(label: "test"))
        return (service, stats)
    }

    func get(_ service: ObservabilityService, _ path: String) async -> (HTTPResponseStatus, String) {
        let response = await service.router.respond(to: HTTPRequest(method: .GET, uri: path))
        return (response.status, String(buffer: response.body))
    }

    @Test func readyzFollowsStartupAndDrain() async {
        let draining = Draining()
        let (service, stats) = make(draining: draining)
        #expect(await get(service, "/readyz") == (.serviceUnavailable, "{\"status\":\"starting\",\"ready\":false}\n"))
        service.markReady()
        #expect(await get(service, "/readyz") == (.ok, "{\"status\":\"ready\",\"ready\":true}\n"))
        #expect(stats.snapshot().value(MetricName.ready) == 1)
        draining.value.store(true, ordering: .relaxed)
        #expect(await get(service, "/readyz") == (.serviceUnavailable, "{\"status\":\"draining\",\"ready\":false}\n"))
        #expect(stats.snapshot().value(MetricName.ready) == 0)
    }

    @Test func healthzAndTheGaugesNameAHungActor() async throws {
        let heartbeats = Heartbeats()
        heartbeats.register("sink")
        heartbeats.register("source")
        let (service, stats) = make(heartbeats: heartbeats, staleAfter: .milliseconds(200))
        #expect(await get(service, "/healthz").0 == .ok)
        try await Task.sleep(for: .milliseconds(300))
        heartbeats.beat("source")
        let (status, body) = await get(service, "/healthz")
        #expect(status == .serviceUnavailable)
        #expect(body.contains(#""hung":["sink"]"#))
        let figures = stats.snapshot()
        #expect(figures.value(MetricName.watchdogOK) == 0)
        #expect(figures.value(MetricName.actorUp, matching: ["actor": "sink"]) == 0)
        #expect(figures.value(MetricName.actorUp, matching: ["actor": "source"]) == 1)
    }

    @Test func metricsServesTheExpositionWithBuildInfo() async {
        let (service, _) = make()
        let (status, body) = await get(service, "/metrics")
        #expect(status == .ok)
        #expect(body.contains(#"pinpipe_build_info{version="test",librdkafka="2.0.2",libpq="15"} 1"#))
        #expect(body.contains("process_resident_memory_bytes "))
        #expect(await get(service, "/other").0 == .notFound)
    }
}
