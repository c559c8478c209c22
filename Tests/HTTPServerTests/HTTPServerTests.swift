import AsyncHTTPClient
import Foundation
import HTTPServer
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization
import Testing

/// The server on a real loopback socket, driven by a real HTTP client and by raw TCP for misbehaving clients.
@Suite struct HTTPServerTests {
    /// Runs a server on a free loopback port for the duration of `body`.
    func withServer(_ configuration: HTTPServerConfiguration = HTTPServerConfiguration(host: "127.0.0.1", port: 0),
                    _ body: (Int) async throws -> Void) async throws {
        var router = HTTPRouter()
        router.on(.GET, "/hello") { _ in HTTPResponse(contentType: "text/plain", body: "hello\n") }
        router.on(.POST, "/echo") { request in HTTPResponse(status: .ok, body: request.body) }
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let server = HTTPServer(configuration: configuration, router: router, logger: Logger(label: "test.http")) {
            continuation.yield($0.port ?? 0)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            defer { group.cancelAll() }
            try await body(port)
        }
    }

    func get(_ url: String, method: HTTPMethod = .GET, body: String? = nil) async throws -> (HTTPResponseStatus, String, HTTPHeaders) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return (response.status, String(buffer: bytes), response.headers)
    }

    @Test func servesRoutesAnd404And405() async throws {
        try await withServer { port in
            let (status, body, headers) = try await get("http://127.0.0.1:\(port)/hello")
            #expect(status == .ok)
            #expect(body == "hello\n")
            #expect(headers["Content-Length"] == ["6"])
            #expect(try await get("http://127.0.0.1:\(port)/missing").0 == .notFound)
            #expect(try await get("http://127.0.0.1:\(port)/hello", method: .PUT, body: "x").0 == .methodNotAllowed)
            let echoed = try await get("http://127.0.0.1:\(port)/echo", method: .POST, body: "ping")
            #expect(echoed.0 == .ok && echoed.1 == "ping")
        }
    }

    @Test func aBodyOverTheLimitGets413() async throws {
        var configuration = HTTPServerConfiguration(host: "127.0.0.1", port: 0)
        configuration.maxBodyBytes = 16
        try await withServer(configuration) { port in
            let answer = try await get("http://127.0.0.1:\(port)/echo", method: .POST, body: String(repeating: "x", count: 64))
            #expect(answer.0 == .payloadTooLarge)
        }
    }

    /// A client that sends half a request and then nothing is cut off by the deadline, not served forever.
    @Test func aSlowClientIsDisconnected() async throws {
        var configuration = HTTPServerConfiguration(host: "127.0.0.1", port: 0)
        configuration.idleTimeout = .seconds(2)
        configuration.requestTimeout = .seconds(2)
        try await withServer(configuration) { port in
            for partial in ["GET /hel", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc"] {
                let closed = try await RawClient.sendAndWaitForClose(port: port, bytes: partial, limit: .seconds(20))
                #expect(closed, "the server kept a stalled connection open for 20 s: \(partial)")
            }
            // ... while a well-behaved client on the same server is still served.
            #expect(try await get("http://127.0.0.1:\(port)/hello").0 == .ok)
        }
    }

    @Test func garbageGets400() async throws {
        try await withServer { port in
            let reply = try await RawClient.exchange(port: port, bytes: "NOT HTTP AT ALL\r\n\r\n")
            #expect(reply.hasPrefix("HTTP/1.1 400"), "got: \(reply)")
        }
    }

    @Test func aTakenPortIsAClearError() async throws {
        try await withServer { port in
            let second = HTTPServer(configuration: HTTPServerConfiguration(host: "127.0.0.1", port: port),
                                    router: HTTPRouter(), logger: Logger(label: "test.http"))
            await #expect {
                try await second.run()
            } throws: { error in
                "\(error)".contains("cannot listen on 127.0.0.1:\(port)")
            }
        }
    }
}

/// Raw TCP for clients no HTTP library would be: half requests and garbage.
enum RawClient {
    /// Sends `bytes`, then waits for the server to close (true) or `limit` to pass (false).
    static func sendAndWaitForClose(port: Int, bytes: String, limit: Duration) async throws -> Bool {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port).get()
        // On a loaded machine the server's deadline may already have closed the connection: that is the answer.
        try? await channel.writeAndFlush(ByteBuffer(string: bytes)).get()
        let closed = Atomic<Bool>(false)
        channel.closeFuture.whenComplete { _ in closed.store(true, ordering: .relaxed) }
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if closed.load(ordering: .relaxed) { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        try? await channel.close()
        return false
    }

    /// Sends `bytes` and returns what came back until the server closed (or 5 s passed).
    static func exchange(port: Int, bytes: String) async throws -> String {
        let collector = Collector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        try await channel.writeAndFlush(ByteBuffer(string: bytes)).get()
        let deadline = ContinuousClock.now + .seconds(5)
        while channel.isActive, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        try? await channel.close()
        return String(decoding: collector.bytes.withLock { $0 }, as: UTF8.self)
    }

    final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let bytes = Mutex<[UInt8]>([])

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            bytes.withLock { $0.append(contentsOf: buffer.readableBytesView) }
        }
    }
}
