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
/// accepting, closes idle connections and lets the requests in progress get their replies (each after its records'
/// acknowledgements) before the producer is flushed.
final class RestService: Sendable {
    static let actorName = "rest"
    let proxy: RestProxy
    private let settings: RestConfiguration
    private let logger: Logger
    private let running = Mutex<(server: HTTPServer, task: Task<Void, any Error>)?>(nil)
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
        running.withLock { $0 = (server, task) }
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
        // The drain waits for acknowledgements (up to the produce timeout, with Kafka away): waiting, not hung.
        await liveness.whileWaiting { await stop() }
    }

    /// Drains the listener: no new connection, idle ones closed, and each request in progress answered once its
    /// records are acknowledged (or their produce timeout passed). A reply is never cut off after its records
    /// were produced, which would make the client send them again. Bounded by the produce timeout; what is still
    /// unanswered then is closed.
    func stop() async {
        guard let (server, task) = running.withLock({ $0 }) else { return }
        server.drain()
        let bound = settings.produceTimeout + .seconds(5)
        let answered = await withTaskGroup(of: Bool.self) { group in
            group.addTask { _ = await task.result; return true }
            group.addTask { (try? await Task.sleep(for: bound)) == nil }
            let first = await group.next() ?? true
            if !first { task.cancel() }  // lets the waiting child end too
            group.cancelAll()
            return first
        }
        if !answered {
            logger.warning("REST endpoint stopping with requests still unanswered after \(bound); closing them",
                           metadata: [LogKey.records: "\(proxy.inFlight)"])
        }
        logger.info("REST endpoint stopped", metadata: [LogKey.records: "\(proxy.inFlight)"])
    }
}
