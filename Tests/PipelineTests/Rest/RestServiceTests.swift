import AsyncHTTPClient
import Foundation
import Kafka
import Logging
import NIOCore
import NIOHTTP1
@testable import Pipeline
import PipelineConfig
import Synchronization
import Systemd
import Testing

/// The endpoint on a real socket with a real producer against librdkafka's mock cluster: records arrive at the
/// partition and offset each reply names, with the value as sent; a client that sends a head and stalls is cut
/// off; a 10 MB body gets 413 and produces nothing.
@Suite(.serialized) struct RestServiceTests {
    static let logger: Logger = {
        var logger = Logger(label: "test.rest")
        logger.logLevel = .error
        return logger
    }()

    struct Running {
        let cluster: KafkaMockCluster
        let producer: KafkaProducer
        let service: RestService
        let topic: String
        let base: String
        let shutdown = ShutdownSignal()
    }

    static func start(requestTimeout: Duration = .seconds(10), produceTimeout: Duration = .seconds(30)) async throws
        -> Running
    {
        let cluster = try KafkaMockCluster(brokers: 1, logger: logger)
        let topic = "rest-\(UInt32.random(in: 0...UInt32.max)).pin"
        try cluster.createTopic(topic, partitions: 3, replicationFactor: 1)
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(bootstrapServers: cluster.bootstrapServers,
                                                      properties: ["linger.ms": "1",
                                                                   "message.timeout.ms": "\(produceTimeout.components.seconds * 1000)"]),
            logger: logger)
        var settings = RestConfiguration()
        settings.produceTimeout = produceTimeout
        settings.listen = .init(host: "127.0.0.1", port: 0)
        settings.requestTimeout = requestTimeout
        let proxy = RestProxy(settings: settings, writableTopics: [topic], producer: producer, users: nil,
                              stats: PipelineStats(), logger: logger, version: "test")
        let service = RestService(proxy: proxy, settings: settings, logger: logger)
        try await service.start()
        let port = try #require(service.address?.port)
        return Running(cluster: cluster, producer: producer, service: service, topic: topic,
                       base: "http://127.0.0.1:\(port)")
    }

    static func post(_ url: String, _ body: ByteBuffer, contentType: String = "application/vnd.kafka.json.v2+json",
                     timeout: Duration = .seconds(30)) async throws -> (status: Int, body: String)
    {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: contentType)
        request.body = .bytes(body)
        let response = try await HTTPClient.shared.execute(request, timeout: .init(timeout))
        return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 20)))
    }

    @Test func recordsLandWhereTheRepliesSay() async throws {
        let running = try await Self.start()
        let rows = (0..<30).map { #"{"index": \#($0), "title": "row \#($0)", "latitude": -89.9787}"# }
        var replies: [(partition: Int, offset: Int)] = []
        for (index, row) in rows.enumerated() {
            let path = index % 3 == 2 ? "/topics/\(running.topic)/partitions/1" : "/topics/\(running.topic)"
            let reply = try await Self.post(running.base + path, ByteBuffer(string: #"{"records":[{"value":"# + row + "}]}"))
            #expect(reply.status == 200, "\(reply.body)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(reply.body.utf8)) as? [String: Any])
            let entry = try #require((json["offsets"] as? [[String: Any]])?.first)
            replies.append((try #require(entry["partition"] as? Int), try #require(entry["offset"] as? Int)))
        }
        // A batch with keys, partitioned by key.
        let batch = try await Self.post(running.base + "/topics/\(running.topic)",
                                        ByteBuffer(string: #"{"records":[{"key":"a","value":{"k":1}},{"key":"a","value":{"k":2}}]}"#))
        #expect(batch.status == 200)

        let contents = try await KafkaTopicReader(bootstrapServers: running.cluster.bootstrapServers, readCommitted: false, logger: Self.logger)
            .readAll(topic: running.topic, timeout: .seconds(30))
        #expect(contents.records.count == rows.count + 2)
        for (row, place) in zip(rows, replies) {
            let record = contents.records.first { $0.partition == Int32(place.partition) && $0.offset == Int64(place.offset) }
            let compact = row.replacingOccurrences(of: ": ", with: ":").replacingOccurrences(of: ", ", with: ",")
            #expect(record.map { String(decoding: $0.value, as: UTF8.self) } == compact)
        }
        #expect(replies.enumerated().filter { $0.offset % 3 == 2 }.allSatisfy { $0.element.partition == 1 })
        let keyed = contents.records.filter { $0.key == Array(#""a""#.utf8) }
        #expect(keyed.count == 2 && Set(keyed.map { $0.partition }).count == 1)

        // 10 MB: 413 in the proxy's envelope, nothing produced.
        let big = try await Self.post(running.base + "/topics/\(running.topic)",
                                      ByteBuffer(string: #"{"records":[{"value":""# + String(repeating: "x", count: 10 << 20) + #""}]}"#))
        #expect(big.status == 413 && big.body.contains(#""error_code":413"#), "\(big.body.prefix(200))")
        let after = try await KafkaTopicReader(bootstrapServers: running.cluster.bootstrapServers, readCommitted: false, logger: Self.logger)
            .readAll(topic: running.topic, timeout: .seconds(30))
        #expect(after.records.count == rows.count + 2)

        running.shutdown.trigger()
        await running.service.stop()
        await running.producer.shutdown(timeout: .seconds(5))
    }

    /// Clients keep posting while the endpoint stops. A reply cut off after its records were produced would make
    /// the client send them again (a duplicate); a request accepted during the stop would be cut off too. So:
    /// every request answered 200 has its record in Kafka once, every request without a reply has none, the
    /// requests whose records were in flight when the stop began are answered, and the stop does not wait out its
    /// bound.
    @Test func stoppingUnderLoadAnswersEveryRequestWhoseRecordsWereProduced() async throws {
        let running = try await Self.start(produceTimeout: .seconds(3))
        running.cluster.setBrokerRoundTripTime(1, .milliseconds(200))  // each request is in flight for a while
        struct Outcome: Sendable { var value: String; var status: Int?; var started: ContinuousClock.Instant; var ended: ContinuousClock.Instant }
        let answeredSoFar = SharedCount()
        let (outcomes, stopBegan, stopTook) = await withTaskGroup(of: ([Outcome], ContinuousClock.Instant?, Duration?).self) { group in
            for client in 0..<6 {
                group.addTask {
                    var outcomes: [Outcome] = []
                    for request in 0..<200 {
                        let value = "c\(client)-r\(request)"
                        let started = ContinuousClock.now
                        // AsyncHTTPClient retries a refused connection until the request's deadline: keep it short.
                        let reply = try? await Self.post(running.base + "/topics/\(running.topic)",
                                                         ByteBuffer(string: #"{"records":[{"value":{"v":""# + value + #""}}]}"#),
                                                         timeout: .seconds(4))
                        outcomes.append(Outcome(value: value, status: reply?.status, started: started, ended: .now))
                        if reply?.status == 200 { answeredSoFar.add() }
                        if reply == nil { break }  // refused: the endpoint is gone
                    }
                    return (outcomes, nil, nil)
                }
            }
            group.addTask {
                // Stop while records are in flight, once the clients have had 12 replies (however slow the machine).
                while answeredSoFar.value < 12 || running.service.proxy.inFlight == 0 {
                    try? await Task.sleep(for: .milliseconds(5))
                }
                let began = ContinuousClock.now
                await running.service.stop()
                return ([], began, .now - began)
            }
            return await group.reduce(into: ([Outcome](), ContinuousClock.Instant?.none, Duration?.none)) {
                $0.0 += $1.0
                $0.1 = $0.1 ?? $1.1
                $0.2 = $0.2 ?? $1.2
            }
        }
        let stopAt = try #require(stopBegan)
        let contents = try await KafkaTopicReader(bootstrapServers: running.cluster.bootstrapServers, readCommitted: false,
                                                  logger: Self.logger).readAll(topic: running.topic, timeout: .seconds(30))
        var produced: [String: Int] = [:]
        for record in contents.records {
            let json = try #require(try JSONSerialization.jsonObject(with: Data(record.value)) as? [String: Any])
            produced[try #require(json["v"] as? String), default: 0] += 1
        }
        let answered = outcomes.filter { $0.status == 200 }
        let unanswered = outcomes.filter { $0.status == nil }
        let inProgressAtStop = outcomes.filter { $0.started < stopAt && $0.ended > stopAt }
        #expect(answered.count >= 12 && unanswered.count == 6, "answered \(answered.count), unanswered \(unanswered.count)")
        #expect(outcomes.allSatisfy { $0.status == nil || $0.status == 200 }, "\(outcomes.map(\.status))")
        #expect(answered.filter { produced[$0.value] != 1 }.map(\.value).isEmpty, "answered 200 but not in Kafka once")
        #expect(unanswered.filter { produced[$0.value] != nil }.map(\.value).isEmpty,
                "produced, but the client got no reply and would send it again")
        // Records were in flight when the stop began: their requests were answered. (A request the client had
        // begun but the server had not read yet may go unanswered: it was never started.)
        #expect(inProgressAtStop.contains { $0.status == 200 },
                "in progress at the stop: \(inProgressAtStop.map { ($0.value, $0.status) })")
        #expect(produced.count == answered.count)
        #expect(try #require(stopTook) < .seconds(3), "the stop waited \(stopTook!): its bound, not the replies")
        await running.producer.shutdown(timeout: .seconds(5))
    }

    /// A drain that waits for a slow broker's acknowledgement is waiting, not hung: the `rest` actor keeps beating
    /// (else the watchdog would report it, and stop pinging, while it does exactly its job), and the request in
    /// progress is answered.
    @Test func theDrainBeatsWhileItWaitsForAcknowledgements() async throws {
        let running = try await Self.start()
        running.cluster.setBrokerRoundTripTime(1, .seconds(6))  // ample: sleeps overshoot under a loaded parallel run
        let heartbeats = Heartbeats()
        let served = Task { try await running.service.run(until: running.shutdown, heartbeats: heartbeats) }
        let reply = Task {
            try await Self.post(running.base + "/topics/\(running.topic)", ByteBuffer(string: #"{"records":[{"value":{"slow":1}}]}"#))
        }
        let deadline = ContinuousClock.now + .seconds(10)
        while running.service.proxy.inFlight == 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        try #require(running.service.proxy.inFlight > 0, "the request never reached the producer")
        running.shutdown.trigger()
        try await Task.sleep(for: .milliseconds(200))  // the loop notices the shutdown and starts the drain
        let before = heartbeats.beatCount("rest")
        try await Task.sleep(for: .milliseconds(1_500))
        let during = heartbeats.beatCount("rest")
        #expect(running.service.proxy.inFlight > 0, "the acknowledgement came early: the drain was not measured")
        #expect(during > before, "no beat during the drain (\(before) -> \(during))")
        #expect(try await reply.value.status == 200)
        try await served.value
        #expect(heartbeats.names.isEmpty, "the rest actor unregisters once drained")
        await running.producer.shutdown(timeout: .seconds(5))
    }

    @Test func aClientThatStallsAfterItsHeadersIsCutOff() async throws {
        let running = try await Self.start(requestTimeout: .milliseconds(500))
        let port = try #require(running.service.address?.port)
        let started = ContinuousClock.now
        let received = try await Task.detached { () -> Int in
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
            let head = "POST /topics/\(running.topic) HTTP/1.1\r\nHost: x\r\nContent-Type: application/vnd.kafka.json.v2+json\r\nContent-Length: 100\r\n\r\n"
            _ = head.withCString { send(fd, $0, strlen($0), 0) }
            var buffer = [UInt8](repeating: 0, count: 1024)
            return recv(fd, &buffer, buffer.count, 0)   // blocks until the server closes
        }.value
        let took = ContinuousClock.now - started
        #expect(received == 0, "the connection is closed without a reply")
        #expect(took >= .milliseconds(400) && took < .seconds(5), "\(took)")
        let contents = try await KafkaTopicReader(bootstrapServers: running.cluster.bootstrapServers, readCommitted: false, logger: Self.logger)
            .readAll(topic: running.topic, timeout: .seconds(30))
        #expect(contents.records.isEmpty)
        await running.service.stop()
        await running.producer.shutdown(timeout: .seconds(5))
    }
}

/// A count the test's tasks share.
final class SharedCount: Sendable {
    private let count = Atomic<Int>(0)
    func add() { count.add(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}
