import HTTPServer
import Logging
import NIOCore
import PipelineConfig
import Synchronization
import Systemd

/// The `rest` role: ``RestProxy`` on its own listener (`rest.listen`), with the HTTP module's bounds (body size,
/// connections, idle and request deadlines).
///
/// `start()` returns once the socket listens (so READY=1 means the endpoint answers), or throws why it cannot.
/// `run(until:)` is the role's actor: it beats its heartbeat while the listener serves, and on shutdown stops
/// accepting and lets the requests in progress get their replies before the producer is flushed.
final class RestService: Sendable {
    static let actorName = "rest"
    let proxy: RestProxy
    private let settings: RestConfiguration
    private let logger: Logger
    private let serverTask = Mutex<Task<Void, any Error>?>(nil)
    private let bound = Mutex<SocketAddress?>(nil)
    private let failure = Mutex<(any Error)?>(nil)

    init(proxy: RestProxy, settings: RestConfiguration, logger: Logger) {
        self.proxy = proxy
        self.settings = settings
        self.logger = logger
    }

    var address: SocketAddress? { bound.withLock { $0 } }

    func start() async throws {
        let configuration = HTTPServerConfiguration(
            host: settings.listen.host, port: settings.listen.port, idleTimeout: settings.idleTimeout,
            requestTimeout: settings.requestTimeout, maxBodyBytes: settings.maxBodyBytes,
            maxConnections: settings.maxConnections)
        let (addresses, continuation) = AsyncStream<SocketAddress>.makeStream()
        let server = HTTPServer(configuration: configuration, router: proxy.router, logger: logger) { address in
            continuation.yield(address)
            continuation.finish()
        }
        let task = Task { [self] in
            defer { continuation.finish() }
            do {
                try await server.run()
            } catch {
                failure.withLock { $0 = error }
                throw error
            }
        }
        serverTask.withLock { $0 = task }
        var iterator = addresses.makeAsyncIterator()
        guard let address = await iterator.next() else {
            try await task.value
            throw HTTPServerError(address: configuration.address, reason: "the listener stopped at once")
        }
        bound.withLock { $0 = address }
        logger.notice("REST endpoint listening (Kafka REST Proxy v2 produce API)", metadata: [
            "rest.address": "\(address)", "rest.topics": "\(proxy.catalog.writable.joined(separator: ","))",
            "rest.authentication": "\(settings.authentication.rawValue)",
        ])
        _ = try? await proxy.catalog.refresh()
    }

    /// Serves until `shutdown`; a listener that fails is an actor error (the role cannot work without it).
    func run(until shutdown: ShutdownSignal, heartbeats: Heartbeats) async throws {
        let liveness = ActorLiveness(heartbeats: heartbeats, name: Self.actorName)
        liveness.register()
        defer { liveness.unregister() }
        while !shutdown.isTriggered {
            liveness.beat()
            if let error = failure.withLock({ $0 }) {
                await stop()
                throw error
            }
            if await liveness.sleep(for: liveness.tick, or: shutdown) { break }
        }
        await stop()
    }

    /// Stops accepting, waits (bounded) for the requests in progress, closes the connections.
    func stop() async {
        guard let task = serverTask.withLock({ $0 }) else { return }
        // Records accepted before the drain get their acknowledgement (or their delivery timeout) and the
        // requests their replies; librdkafka's message timeout bounds the wait.
        if !(await proxy.waitUntilIdle(timeout: settings.produceTimeout + .seconds(5))) {
            logger.warning("REST endpoint stopping with records still unacknowledged", metadata: [
                LogKey.records: "\(proxy.inFlight)"])
        }
        task.cancel()
        _ = await task.result
        logger.info("REST endpoint stopped")
    }
}
