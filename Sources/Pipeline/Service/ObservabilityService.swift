import Foundation
import HTTPServer
import Logging
import NIOCore
import PipelineConfig
import ServiceLifecycle
import Support
import Synchronization
import Systemd

/// Serves `/metrics`, `/healthz` and `/readyz` on `metrics.listen`, beside the pipeline, until the service group
/// stops (it is listed first, so it is stopped last: the drain stays observable).
///
/// A listener that cannot start (the port taken) is logged as an error and the pipeline runs on without it:
/// observability must never stop the data. Other endpoints (a later ingest API) join through ``router``.
public final class ObservabilityService: Service {
    let listen: MetricsConfiguration.Address?
    let stats: PipelineStats
    let heartbeats: Heartbeats
    let staleAfter: Duration?
    let isDraining: @Sendable () -> Bool
    let logger: Logger
    private let readyFlag = Flag()
    private let throughput = ThroughputSampler()
    private let onBound: @Sendable (SocketAddress) -> Void
    private let extraRoutes: @Sendable (inout HTTPRouter) -> Void

    /// - Parameter buildInfo: labels of `pinpipe_build_info` (version and native library versions).
    public init(listen: MetricsConfiguration.Address?, stats: PipelineStats, heartbeats: Heartbeats,
                staleAfter: Duration?, isDraining: @escaping @Sendable () -> Bool, buildInfo: [(String, String)],
                logger: Logger, extraRoutes: @escaping @Sendable (inout HTTPRouter) -> Void = { _ in },
                onBound: @escaping @Sendable (SocketAddress) -> Void = { _ in }) {
        self.extraRoutes = extraRoutes
        self.listen = listen
        self.stats = stats
        self.heartbeats = heartbeats
        self.staleAfter = staleAfter
        self.isDraining = isDraining
        self.logger = logger
        self.onBound = onBound
        stats.gauge(MetricName.buildInfo, buildInfo).record(1)
        stats.gauge(MetricName.startTime).record(ProcessFigures.startTime)
        if listen != nil {
            stats.observe("throughput") { [stats, throughput] in throughput.sample(stats) }
        }
        stats.observe("process") { [stats, readyFlag, isDraining, heartbeats, staleAfter] in
            if let rss = ProcessFigures.residentBytes() { stats.gauge(MetricName.residentMemory).record(rss) }
            if let fds = ProcessFigures.openFileDescriptors() { stats.gauge(MetricName.openFDs).record(fds) }
            let ready = readyFlag.isSet && !isDraining()
            stats.gauge(MetricName.ready).record(ready ? 1 : 0)
            let health = HealthReport(heartbeats: heartbeats, staleAfter: staleAfter)
            stats.gauge(MetricName.watchdogOK).record(health.isHealthy ? 1 : 0)
            for actor in health.ages.keys {
                stats.gauge(MetricName.actorUp, [("actor", actor)]).record(health.hung.contains(actor) ? 0 : 1)
            }
        }
    }

    /// Call once READY=1 was sent (the start-up checks passed).
    public func markReady() { readyFlag.set() }

    /// Ready: start-up checks passed and no drain has begun.
    public var isReady: Bool { readyFlag.isSet && !isDraining() }

    /// The endpoints: ours, then `extraRoutes`.
    public var router: HTTPRouter {
        var router = HTTPRouter()
        router.on(.GET, "/metrics") { [stats] _ in
            HTTPResponse(status: .ok, headers: ["Content-Type": "text/plain; version=0.0.4; charset=utf-8"],
                         body: ByteBuffer(bytes: stats.exposition()))
        }
        router.on(.GET, "/healthz") { [heartbeats, staleAfter] _ in
            let report = HealthReport(heartbeats: heartbeats, staleAfter: staleAfter)
            return HTTPResponse(status: report.isHealthy ? .ok : .serviceUnavailable,
                                contentType: "application/json", body: report.json)
        }
        router.on(.GET, "/readyz") { [self] _ in
            let ready = readyFlag.isSet
            let draining = isDraining()
            let state = draining ? "draining" : (ready ? "ready" : "starting")
            return HTTPResponse(status: ready && !draining ? .ok : .serviceUnavailable, contentType: "application/json",
                                body: "{\"status\":\"\(state)\",\"ready\":\(ready && !draining)}\n")
        }
        extraRoutes(&router)
        return router
    }

    public func run() async throws {
        guard let listen else {
            try? await gracefulShutdown()
            return
        }
        let server = HTTPServer(configuration: HTTPServerConfiguration(host: listen.host, port: listen.port),
                                router: router, logger: logger, onBound: onBound)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.sampleThroughput() }
            // The listener failing (the port taken, a socket refused) never stops the pipeline: log it, try again.
            var backoff = Backoff(initial: .seconds(1), maximum: .seconds(60))
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                do {
                    try await server.run()
                    break
                } catch {
                    let wait = backoff.next()
                    logger.error("metrics.listen \(listen): \(error); /metrics, /healthz and /readyz are off, the pipeline runs on; listening again in \(wait)",
                                 metadata: ["pinpipe.metrics_listen": "\(listen)"])
                    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
                }
            }
            group.cancelAll()
        }
    }

    /// Every 5 s (and at every scrape, through the observer): records per second over the last minute, per
    /// stage (`pinpipe status` shows them).
    private func sampleThroughput() async {
        while !Task.isCancelled {
            throughput.sample(stats)
            try? await Task.sleep(for: .seconds(5))
        }
    }
}

/// A one-way flag that closures can share.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .relaxed) }
    var isSet: Bool { value.load(ordering: .relaxed) }
}

/// The one-minute throughput window, sampled from the loop and from scrapes.
final class ThroughputSampler: Sendable {
    private let window = Mutex(ThroughputWindow())
    private let start = ContinuousClock.now
    private static let stages = ["produced": MetricName.produced, "consumed": MetricName.consumed,
                                 "uploaded": MetricName.uploadedRecords]

    /// Reads the counter totals (from the registry directly: observers must not run observers) and sets the rates.
    func sample(_ stats: PipelineStats) {
        let figures = MetricsSnapshot(parsing: String(decoding: stats.registry.emitToBuffer(), as: UTF8.self))
        let totals = Self.stages.mapValues { figures.sum($0) }
        let rates = window.withLock { $0.add(time: HealthReport.seconds(ContinuousClock.now - start), totals: totals) }
        for (stage, rate) in rates {
            stats.gauge(MetricName.throughput, [("stage", stage)]).record(rate)
        }
    }
}
