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
/// `run()` listens until graceful shutdown (or cancellation), then closes every connection.
public final class HTTPServer: Service {
    public let configuration: HTTPServerConfiguration
    private let router: HTTPRouter
    private let logger: Logger
    private let onBound: @Sendable (SocketAddress) -> Void
    private let connections = Atomic<Int>(0)

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
        if let address = server.channel.localAddress {
            onBound(address)
            logger.info("HTTP listener ready", metadata: ["http.address": "\(address)",
                                                         "http.paths": "\(router.paths.joined(separator: " "))"])
        }
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { inbound in
                for try await connection in inbound.cancelOnGracefulShutdown() {
                    if connections.add(1, ordering: .relaxed).newValue > configuration.maxConnections {
                        connections.subtract(1, ordering: .relaxed)
                        connection.channel.close(promise: nil)
                        continue
                    }
                    group.addTask {
                        defer { self.connections.subtract(1, ordering: .relaxed) }
                        await self.serve(connection)
                    }
                }
            }
            group.cancelAll()
        }
    }

    /// Answers the requests of one connection until it closes, asks to close, or its deadline closes it.
    private func serve(_ connection: Connection) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                var iterator = inbound.makeAsyncIterator()
                while let (request, keepAlive, tooLarge) = try await readRequest(&iterator) {
                    var response: HTTPResponse
                    if tooLarge {
                        response = router.errorResponder(.payloadTooLarge,
                                                          "the body exceeds \(configuration.maxBodyBytes) bytes")
                    } else {
                        response = await router.respond(to: request)
                    }
                    let close = !keepAlive || tooLarge
                    try await write(response, close: close, to: outbound)
                    if close { return }
                }
            }
        } catch {
            logger.debug("HTTP connection ended with an error", metadata: ["http.error": "\(error)"])
        }
    }

    /// The next whole request, or nil when the client closed. A body over the limit is not kept (`tooLarge`).
    private func readRequest(_ iterator: inout NIOAsyncChannelInboundStream<HTTPServerRequestPart>.AsyncIterator)
        async throws -> (HTTPRequest, keepAlive: Bool, tooLarge: Bool)?
    {
        var head: HTTPRequestHead?
        var body = ByteBuffer()
        var tooLarge = false
        while let part = try await iterator.next() {
            switch part {
            case .head(let value):
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
