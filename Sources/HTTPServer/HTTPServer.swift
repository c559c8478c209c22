import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization

/// A small HTTP/1.1 server on swift-nio, for pinpipe's own endpoints on one listener.
///
/// Requests are read whole (bounded by `maxBodyBytes`), routed by ``HTTPRouter`` and answered with a
/// `Content-Length`; keep-alive is honoured. Malformed requests get 400 from NIO's HTTP codec, slow clients are
/// cut off by ``ConnectionDeadlineHandler``, and at most `maxConnections` are served at once.
/// `run()` listens until ``drain()`` or graceful shutdown, which stop accepting, close idle connections and let
/// each request in progress get its reply (with `Connection: close`); `run()` returns once none is left.
/// Cancelling `run()`'s task closes every connection at once.
public final class HTTPServer: Service {
    public let configuration: HTTPServerConfiguration
    private let router: HTTPRouter
    private let logger: Logger
    private let onBound: @Sendable (SocketAddress) -> Void
    private let state = Mutex<(registry: HTTPConnectionRegistry<any Channel>, listener: (any Channel)?)>(
        (HTTPConnectionRegistry(), nil))

    /// - Parameter onBound: called once the socket listens, with its address (the real port when `port` is 0).
    public init(configuration: HTTPServerConfiguration, router: HTTPRouter, logger: Logger,
                onBound: @escaping @Sendable (SocketAddress) -> Void = { _ in }) {
        self.configuration = configuration
        self.router = router
        self.logger = logger
        self.onBound = onBound
    }

    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    public func run() async throws {
        let configuration = configuration
        let server: NIOAsyncChannel<Connection, Never>
        do {
            server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.backlog, value: 64)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .bind(host: configuration.host, port: configuration.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        // Best effort: a sandbox may refuse socket options (seen under systemd's hardening), and a
                        // refused option must not fail the accept, which would close the listener.
                        try? channel.syncOptions?.setOption(.socketOption(.tcp_nodelay), value: 1)
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        try channel.pipeline.syncOperations.addHandler(ConnectionDeadlineHandler(
                            idleTimeout: configuration.idleTimeout, requestTimeout: configuration.requestTimeout))
                        return try Connection(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw HTTPServerError(address: configuration.address, reason: "\(error)")
        }
        let drainedAlready = state.withLock { state in
            state.listener = server.channel
            return state.registry.isDraining
        }
        if drainedAlready { server.channel.close(promise: nil) }
        if let address = server.channel.localAddress {
            onBound(address)
            logger.info("HTTP listener ready", metadata: ["http.address": "\(address)",
                                                         "http.paths": "\(router.paths.joined(separator: " "))"])
        }
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                do {
                    try await server.executeThenClose { inbound in
                        for try await connection in inbound {
                            // One lock decides both: none while draining, at most maxConnections at once.
                            guard let id = state.withLock({
                                $0.registry.open(connection.channel, limit: configuration.maxConnections)
                            }) else {
                                // Closed through the wrapper: dropping it with its writer unfinished traps in NIO
                                // (a client over the limit would have stopped the process).
                                group.addTask { try? await connection.executeThenClose { _, _ in } }
                                continue
                            }
                            group.addTask { await self.serve(connection, id: id) }
                        }
                    }
                } catch where isDraining {
                    // The drain closed the listener under the accept loop: not a failure.
                }
                // Draining: the group waits for the requests in progress (cancelling run() still cancels them).
                if !isDraining { group.cancelAll() }
            }
        } onGracefulShutdown: {
            self.drain()
        }
    }

    private var isDraining: Bool { state.withLock { $0.registry.isDraining } }

    /// Stops accepting connections, closes those waiting for a request, and lets each request in progress get
    /// its reply (asking the client to close); `run()` then returns. A request whose head had not been read yet
    /// is not started: its client sees the connection close, as with any keep-alive race, and may retry.
    public func drain() {
        let (listener, idle) = state.withLock { state in (state.listener, state.registry.drain()) }
        listener?.close(promise: nil)
        for channel in idle { channel.close(promise: nil) }
        logger.debug("HTTP listener draining", metadata: ["http.idle_closed": "\(idle.count)"])
    }

    /// Answers the requests of one connection until it closes, asks to close, or its deadline closes it.
    private func serve(_ connection: Connection, id: Int) async {
        defer { state.withLock { $0.registry.close(id) } }
        let claim = { self.state.withLock { $0.registry.beginRequest(id) } }
        do {
            try await connection.executeThenClose { inbound, outbound in
                var iterator = inbound.makeAsyncIterator()
                while let (request, keepAlive, tooLarge) = try await readRequest(&iterator, claim: claim) {
                    var response: HTTPResponse
                    if tooLarge {
                        response = router.errorResponder(.payloadTooLarge,
                                                          "the body exceeds \(configuration.maxBodyBytes) bytes")
                    } else {
                        response = await router.respond(to: request)
                    }
                    let close = !keepAlive || tooLarge || state.withLock { $0.registry.replyCloses(id) }
                    try await write(response, close: close, to: outbound)
                    let drained = state.withLock { $0.registry.endRequest(id) }
                    if close || drained { return }
                }
            }
        } catch {
            logger.debug("HTTP connection ended with an error", metadata: ["http.error": "\(error)"])
        }
    }

    /// The next whole request, or nil when the client closed (or `claim` refused the request: the drain closed
    /// the connection as its head arrived). A body over the limit is not kept (`tooLarge`).
    private func readRequest(_ iterator: inout NIOAsyncChannelInboundStream<HTTPServerRequestPart>.AsyncIterator,
                             claim: () -> Bool)
        async throws -> (HTTPRequest, keepAlive: Bool, tooLarge: Bool)?
    {
        var head: HTTPRequestHead?
        var body = ByteBuffer()
        var tooLarge = false
        while let part = try await iterator.next() {
            switch part {
            case .head(let value):
                guard claim() else { return nil }
                head = value
            case .body(var chunk):
                if body.readableBytes + chunk.readableBytes > configuration.maxBodyBytes {
                    tooLarge = true
                } else if !tooLarge {
                    body.writeBuffer(&chunk)
                }
            case .end:
                guard let head else { return nil }
                let request = HTTPRequest(method: head.method, uri: head.uri, headers: head.headers,
                                          body: tooLarge ? ByteBuffer() : body)
                return (request, head.isKeepAlive, tooLarge)
            }
        }
        return nil
    }

    private func write(_ response: HTTPResponse, close: Bool, to outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>)
        async throws
    {
        var headers = response.headers
        if !headers.contains(name: "Content-Length") {
            headers.add(name: "Content-Length", value: "\(response.body.readableBytes)")
        }
        if close { headers.replaceOrAdd(name: "Connection", value: "close") }
        // One write (one hop to the event loop, one flush) for the whole response.
        var parts: [HTTPServerResponsePart] = [
            .head(HTTPResponseHead(version: .http1_1, status: response.status, headers: headers)),
        ]
        if response.body.readableBytes > 0 { parts.append(.body(.byteBuffer(response.body))) }
        parts.append(.end(nil))
        try await outbound.write(contentsOf: parts)
    }
}
