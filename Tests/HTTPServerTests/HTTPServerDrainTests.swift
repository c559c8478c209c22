import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import HTTPServer

/// `drain()`: no new connection, idle keep-alive connections closed, and a request in progress answered in full
/// (with `Connection: close`) before `run()` returns, on a real loopback socket.
@Suite struct HTTPServerDrainTests {
    @Test func aRequestInProgressIsAnsweredIdleOnesCloseAndNewOnesAreRefused() async throws {
        let entered = AsyncStream.makeStream(of: Void.self)
        let release = AsyncStream.makeStream(of: Void.self)
        var router = HTTPRouter()
        router.on(.POST, "/slow") { request in
            entered.continuation.yield()
            var iterator = release.stream.makeAsyncIterator()
            _ = await iterator.next()  // until the test lets it finish: it is in progress during the drain
            return HTTPResponse(status: .ok, body: request.body)
        }
        let (ports, bound) = AsyncStream.makeStream(of: Int.self)
        let server = HTTPServer(configuration: HTTPServerConfiguration(host: "127.0.0.1", port: 0), router: router,
                                logger: Logger(label: "test.http.drain")) { bound.yield($0.port ?? 0) }
        let run = Task { try await server.run() }
        var portIterator = ports.makeAsyncIterator()
        let port = try #require(await portIterator.next())

        // An idle keep-alive connection: one request answered, then it waits for the next.
        let idle = try await RawConnection(port: port)
        try await idle.send("POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\na")
        var enteredIterator = entered.stream.makeAsyncIterator()
        _ = await enteredIterator.next()
        release.continuation.yield()
        try await idle.waitForReply(containing: "\r\n\r\na")
        #expect(idle.isOpen, "keep-alive: the connection stays open after its reply")

        // A request in progress when the drain starts.
        let busy = try await RawConnection(port: port)
        try await busy.send("POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody")
        _ = await enteredIterator.next()
        server.drain()

        try await idle.waitForClose(limit: .seconds(5))
        #expect(!idle.isOpen, "an idle connection is closed by the drain")
        await #expect(throws: (any Error).self, "the listener no longer accepts") {
            _ = try await RawConnection(port: port)
        }
        #expect(busy.isOpen, "the request in progress keeps its connection")

        release.continuation.yield()
        try await busy.waitForClose(limit: .seconds(5))
        let reply = busy.received
        #expect(reply.hasPrefix("HTTP/1.1 200"), "got: \(reply)")
        #expect(reply.lowercased().contains("connection: close"), "got: \(reply)")
        #expect(reply.hasSuffix("\r\n\r\nbody"), "got: \(reply)")
        // run() returns by itself once the last request is answered: no cancellation needed.
        let ended = try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask { try await run.value; return true }
            group.addTask { try await Task.sleep(for: .seconds(10)); return false }
            let first = try await group.next() ?? false
            run.cancel()
            group.cancelAll()
            return first
        }
        #expect(ended, "run() did not return within 10 s of the drain's last reply")
    }

    /// `maxConnections` on a real socket: with one slot taken by an idle client, the next is closed unanswered,
    /// and once the first leaves its slot serves again.
    @Test func aConnectionBeyondTheLimitIsClosedAtOnce() async throws {
        var router = HTTPRouter()
        router.on(.GET, "/hello") { _ in HTTPResponse(contentType: "text/plain", body: "hello\n") }
        let (ports, bound) = AsyncStream.makeStream(of: Int.self)
        let server = HTTPServer(configuration: HTTPServerConfiguration(host: "127.0.0.1", port: 0, maxConnections: 1),
                                router: router, logger: Logger(label: "test.http.limit")) { bound.yield($0.port ?? 0) }
        let run = Task { try await server.run() }
        defer { run.cancel() }
        var portIterator = ports.makeAsyncIterator()
        let port = try #require(await portIterator.next())
        var holder: RawConnection? = try await RawConnection(port: port)
        try await Task.sleep(for: .milliseconds(200))  // the server has registered it
        let refused = try await RawClient.sendAndWaitForClose(port: port, bytes: "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
                                                              limit: .seconds(5))
        #expect(refused, "a second connection was kept although the limit is 1")
        holder = nil  // closes it
        _ = holder
        try await Task.sleep(for: .milliseconds(300))
        let reply = try await RawClient.exchange(port: port, bytes: "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(reply.hasPrefix("HTTP/1.1 200"), "got: \(reply)")
    }

    @Test func theRegistryAnswersOrNeverStartsARequest() throws {
        var registry = HTTPConnectionRegistry<String>()
        let idle = try #require(registry.open("idle") as Int?)
        let busy = try #require(registry.open("busy") as Int?)
        let racing = try #require(registry.open("racing") as Int?)
        let started = registry.beginRequest(busy)
        #expect(started && !registry.replyCloses(busy))
        let closedNow = registry.drain()
        #expect(Set(closedNow) == ["idle", "racing"])
        let late = registry.open("late")
        #expect(late == nil, "no connection after the drain began")
        // The drain closed `racing` as its head arrived: the request is not started.
        let racingStarted = registry.beginRequest(racing)
        let idleStarted = registry.beginRequest(idle)
        #expect(!racingStarted && !idleStarted)
        // The request in progress gets its reply, asking the client to close, and then the connection closes.
        #expect(registry.replyCloses(busy))
        let closesAfter = registry.endRequest(busy)
        #expect(closesAfter && registry.count == 0)
    }

    @Test func atMostTheLimitOfConnectionsIsOpen() throws {
        var registry = HTTPConnectionRegistry<Int>()
        let first = registry.open(1, limit: 2)
        let second = registry.open(2, limit: 2)
        let third = registry.open(3, limit: 2)
        #expect(first != nil && second != nil && third == nil)
        registry.close(try #require(first))
        let again = registry.open(4, limit: 2)
        #expect(again != nil, "a closed connection frees its slot")
    }

    @Test func withoutADrainAKeptAliveConnectionServesTheNextRequest() throws {
        var registry = HTTPConnectionRegistry<Int>()
        let id = try #require(registry.open(1) as Int?)
        let first = registry.beginRequest(id)
        let overlapping = registry.beginRequest(id)
        #expect(first && !overlapping, "one request at a time per connection")
        let closes = registry.endRequest(id)
        let next = registry.beginRequest(id)
        #expect(!closes && next && registry.busyCount == 1)
    }
}

/// A TCP client that records what it receives and notices when the server closes.
final class RawConnection: Sendable {
    private let channel: any Channel
    private let collector = RawClient.Collector()
    private let closed = Atomic<Bool>(false)

    init(port: Int) async throws {
        let collector = collector
        channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        channel.closeFuture.whenComplete { [weak self] _ in self?.closed.store(true, ordering: .sequentiallyConsistent) }
    }

    var isOpen: Bool { !closed.load(ordering: .sequentiallyConsistent) }
    var received: String { String(decoding: collector.bytes.withLock { $0 }, as: UTF8.self) }

    func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text)).get()
    }

    func waitForReply(containing text: String, limit: Duration = .seconds(5)) async throws {
        let deadline = ContinuousClock.now + limit
        while !received.contains(text), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(received.contains(text), "no reply containing \(text.debugDescription) within \(limit): \(received)")
    }

    func waitForClose(limit: Duration) async throws {
        let deadline = ContinuousClock.now + limit
        while isOpen, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
    }

    deinit { channel.close(promise: nil) }
}
