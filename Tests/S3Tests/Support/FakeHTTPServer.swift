import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A request as the fake server received it off the wire.
struct FakeHTTPRequest: Sendable {
    var method: String
    var uri: String
    var headers: [(String, String)]
    var body: [UInt8]

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    var path: String { String(uri.split(separator: "?", maxSplits: 1).first ?? "") }
}

struct FakeHTTPResponse: Sendable {
    var status: Int
    var headers: [(String, String)] = []
    var body: [UInt8] = []

    init(status: Int, headers: [(String, String)] = [], body: String = "") {
        self.status = status
        self.headers = headers
        self.body = Array(body.utf8)
    }
}

/// A local HTTP/1.1 server on 127.0.0.1 (random port) answering with a closure, recording every request.
final class FakeHTTPServer: Sendable {
    typealias Handler = @Sendable (FakeHTTPRequest) -> FakeHTTPResponse

    let port: Int
    private let channel: any Channel
    private let recorded: Mutex<[FakeHTTPRequest]>

    var requests: [FakeHTTPRequest] { recorded.withLock { $0 } }
    var url: String { "http://127.0.0.1:\(port)" }

    private init(port: Int, channel: any Channel) {
        self.port = port
        self.channel = channel
        self.recorded = Mutex([])
    }

    static func start(_ handler: @escaping Handler) async throws -> FakeHTTPServer {
        let box = RequestLog()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(
                        FakeHTTPHandler { request in
                            box.append(request)
                            return handler(request)
                        })
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let server = FakeHTTPServer(port: channel.localAddress!.port!, channel: channel)
        box.server.withLock { $0 = server }
        return server
    }

    func record(_ request: FakeHTTPRequest) {
        recorded.withLock { $0.append(request) }
    }

    func shutdown() async {
        try? await channel.close()
    }

    /// A port nothing listens on: bound, then released.
    static func closedPort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress!.port!
        try await channel.close()
        return port
    }
}

/// Forwards requests to the server once it exists (the handler closure is built before the server).
private final class RequestLog: Sendable {
    let server = Mutex<FakeHTTPServer?>(nil)

    func append(_ request: FakeHTTPRequest) {
        server.withLock { $0 }?.record(request)
    }
}

private final class FakeHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let respond: FakeHTTPServer.Handler
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []

    init(respond: @escaping FakeHTTPServer.Handler) {
        self.respond = respond
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = []
        case .body(let buffer):
            body += buffer.readableBytesView
        case .end:
            guard let head else { return }
            let request = FakeHTTPRequest(
                method: head.method.rawValue, uri: head.uri, headers: head.headers.map { ($0.name, $0.value) }, body: body)
            let response = respond(request)
            var headers = HTTPHeaders(response.headers)
            if !headers.contains(name: "Content-Length") {
                headers.add(name: "Content-Length", value: String(response.body.count))
            }
            let responseHead = HTTPResponseHead(
                version: head.version, status: HTTPResponseStatus(statusCode: response.status), headers: headers)
            context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
            if head.method != .HEAD, !response.body.isEmpty {
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: response.body)))), promise: nil)
            }
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            self.head = nil
        }
    }
}
