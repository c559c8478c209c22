import HTTPServer
import Kafka
import Logging
import NIOCore
import NIOHTTP1
import PipelineConfig
import Synchronization

/// The Kafka REST Proxy v2 produce API on pinpipe's HTTP module: `POST /topics/{topic}`,
/// `POST /topics/{topic}/partitions/{partition}`, `GET /topics`, `GET /topics/{topic}`,
/// `GET /topics/{topic}/partitions[/{partition}]` and `GET /`.
///
/// A produce request is checked whole (credentials, content type, topic, partition, body, sizes) before any
/// record is produced: a refused request produced nothing. An accepted one takes room for its records in the
/// in-flight window (waiting at most `queueTimeout`, else 50003), produces them through librdkafka (acks=all,
/// idempotent) and is answered once every record is acknowledged or failed, each in its place.
final class RestProxy: Sendable {
    let settings: RestConfiguration
    let catalog: RestTopicCatalog
    private let producer: any RestProducerPort
    private let admission: RestAdmission
    private let users: RestUsers?
    private let stats: PipelineStats
    private let logger: Logger
    private let log: RestRequestLog
    private let version: String

    init(settings: RestConfiguration, writableTopics: [String], producer: any RestProducerPort, users: RestUsers?,
         stats: PipelineStats, logger: Logger, version: String) {
        self.settings = settings
        self.catalog = RestTopicCatalog(writable: writableTopics, producer: producer)
        self.producer = producer
        self.admission = RestAdmission(limit: settings.maxInFlight)
        self.users = users
        self.stats = stats
        self.logger = logger
        self.log = RestRequestLog(logger: logger)
        self.version = version
        stats.observe("rest") { [admission, stats] in
            stats.gauge(MetricName.restInFlight).record(admission.inUse)
        }
    }

    /// Records accepted and not yet acknowledged.
    var inFlight: Int { admission.inUse }

    var router: HTTPRouter {
        var router = HTTPRouter()
        router.errorResponder = { [stats] status, message in
            // The router's own answers (unknown path, wrong method) and the server's 413 count like the others.
            stats.recordRestRequest(status: Int(status.code), duration: .zero)
            return Self.reply(RestError(Int(status.code), message), type: RestMediaType.v2)
        }
        router.on(.GET, "/") { [self] request in
            await guarded(request) { (_: HTTPRequest, type: String) async throws(RestError) -> HTTPResponse in
                Self.reply(.ok, "{\"name\":\"pinpipe\",\"version\":\(RestJSONWriter.string(version)),\"api\":\"kafka-rest-v2\"}",
                           type: type)
            }
        }
        router.on(.GET, "/topics") { [self] request in
            await guarded(request) { (_: HTTPRequest, type: String) async throws(RestError) -> HTTPResponse in
                let topics = try await metadata { () async throws(KafkaError) in try await catalog.existing() }
                return Self.reply(.ok, "[" + topics.map { RestJSONWriter.string($0.name) }.joined(separator: ",") + "]",
                                  type: type)
            }
        }
        router.on(.GET, "/topics/{topic}") { [self] request in
            await guarded(request) { (request: HTTPRequest, type: String) async throws(RestError) -> HTTPResponse in
                let topic = try await topicMetadata(request)
                let partitions = topic.partitions.map(Self.partitionJSON).joined(separator: ",")
                return Self.reply(.ok, "{\"name\":\(RestJSONWriter.string(topic.name)),\"configs\":{},\"partitions\":[\(partitions)]}",
                                  type: type)
            }
        }
        router.on(.GET, "/topics/{topic}/partitions") { [self] request in
            await guarded(request) { (request: HTTPRequest, type: String) async throws(RestError) -> HTTPResponse in
                let topic = try await topicMetadata(request)
                return Self.reply(.ok, "[" + topic.partitions.map(Self.partitionJSON).joined(separator: ",") + "]", type: type)
            }
        }
        router.on(.GET, "/topics/{topic}/partitions/{partition}") { [self] request in
            await guarded(request) { (request: HTTPRequest, type: String) async throws(RestError) -> HTTPResponse in
                let topic = try await topicMetadata(request)
                let partition = try Self.pathPartition(request, in: topic)
                return Self.reply(.ok, Self.partitionJSON(topic.partitions[Int(partition)]), type: type)
            }
        }
        router.on(.POST, "/topics/{topic}") { [self] request in
            await guarded(request) { (request: HTTPRequest, type: String) async throws(RestError) -> HTTPResponse in try await produce(request, type: type) }
        }
        router.on(.POST, "/topics/{topic}/partitions/{partition}") { [self] request in
            await guarded(request) { (request: HTTPRequest, type: String) async throws(RestError) -> HTTPResponse in try await produce(request, type: type) }
        }
        return router
    }

    // MARK: Requests

    /// Authentication and `Accept` first, then `body`; a `RestError` becomes the error envelope. Counts and logs.
    private func guarded(_ request: HTTPRequest,
                         _ body: (HTTPRequest, String) async throws(RestError) -> HTTPResponse) async -> HTTPResponse
    {
        let start = ContinuousClock.now
        let type = RestMediaType.replyType(accept: request.headers["Accept"]) ?? RestMediaType.v2
        var response: HTTPResponse
        do throws(RestError) {
            try authenticate(request)
            guard RestMediaType.replyType(accept: request.headers["Accept"]) != nil else {
                throw RestError(RestError.notAcceptable, "HTTP 406 Not Acceptable")
            }
            response = try await body(request, type)
        } catch {
            response = Self.reply(error, type: type)
            if error.errorCode == RestError.unauthorized {
                response.headers.add(name: "WWW-Authenticate", value: "Basic realm=\"pinpipe\"")
            }
            log.refused(request, error)
        }
        stats.recordRestRequest(status: Int(response.status.code), duration: ContinuousClock.now - start)
        return response
    }

    private func authenticate(_ request: HTTPRequest) throws(RestError) {
        guard let users else { return }
        guard let header = request.headers.first(name: "Authorization"),
              header.count > 6, header.prefix(6).lowercased() == "basic ",
              let decoded = Base64.decode(String(header.dropFirst(6)).restTrimmed()),
              let colon = decoded.firstIndex(of: UInt8(ascii: ":")),
              let name = String(validating: decoded[..<colon], as: UTF8.self),
              let expected = users.passwords[name],
              Self.constantTimeEqual(Array(expected.utf8), Array(decoded[(colon + 1)...]))
        else {
            throw RestError(RestError.unauthorized, "Unauthorized: valid HTTP basic credentials are required.")
        }
    }

    private func produce(_ request: HTTPRequest, type: String) async throws(RestError) -> HTTPResponse {
        let format = try RestMediaType.produceFormat(contentType: request.headers.first(name: "Content-Type")).get()
        let topic = try await topicMetadata(request)
        var pathPartition: Int32?
        if request.pathParameters["partition"] != nil { pathPartition = try Self.pathPartition(request, in: topic) }
        var body = request.body
        let bytes = body.readBytes(length: body.readableBytes) ?? []
        var parsed = try RestProduceRequest.parse(bytes, format: format, maxRecords: settings.maxRecords)
        for (index, record) in parsed.records.enumerated() {
            if let partition = pathPartition {
                parsed.records[index].partition = partition
            } else if let partition = record.partition, Int(partition) >= topic.partitions.count {
                throw RestError(RestError.invalidPartition,
                                "Invalid partition: records[\(index)].partition is \(partition), topic \(topic.name) "
                                    + "has partitions 0-\(topic.partitions.count - 1).")
            }
            if record.size > settings.maxRecordBytes {
                throw RestError(RestError.recordTooLarge,
                                "Record too large: records[\(index)] has \(record.size) bytes of key and value, "
                                    + "at most \(settings.maxRecordBytes) are accepted (rest.max_record_bytes).")
            }
        }
        let count = parsed.records.count
        guard await admission.acquire(count, timeout: settings.queueTimeout) else {
            throw RestError(RestError.kafkaRetriable,
                            "Kafka retriable error: \(admission.limit) records are already waiting for Kafka "
                                + "(rest.max_in_flight) and none were acknowledged within "
                                + "\(settings.queueTimeout); retry later.")
        }
        let outcomes = await produce(parsed.records, topic: topic.name)
        var acknowledged = 0
        for outcome in outcomes { if case .stored = outcome { acknowledged += 1 } }
        stats.recordRestRecords(topic: topic.name, acknowledged: acknowledged, failed: count - acknowledged)
        log.produced(topic: topic.name, records: count, failed: count - acknowledged)
        return Self.reply(.ok, RestProduceResponse(offsets: outcomes).json, type: type)
    }

    /// Produces every record and waits for all their delivery reports; releases each record's slot as its
    /// report arrives.
    private func produce(_ records: [RestProduceRequest.Record], topic: String) async -> [RestProduceResponse.Outcome] {
        let collector = RestDeliveryCollector(count: records.count)
        let admission = admission
        for (index, record) in records.enumerated() {
            do throws(KafkaError) {
                try await producer.produce(topic: topic, partition: record.partition, key: record.key,
                                           value: record.value) { result in
                    admission.release(1)
                    switch result {
                    case .success(let report):
                        collector.set(index, .stored(partition: report.partition, offset: report.offset))
                    case .failure(let error):
                        collector.set(index, RestProduceResponse.outcome(of: error))
                    }
                }
            } catch {
                admission.release(1)
                collector.set(index, RestProduceResponse.outcome(of: error))
            }
        }
        return await collector.wait()
    }

    private func topicMetadata(_ request: HTTPRequest) async throws(RestError) -> KafkaTopicMetadata {
        let name = request.pathParameters["topic"] ?? ""
        guard catalog.isWritable(name) else {
            throw RestError(RestError.forbiddenTopic,
                            "Topic not allowed: \(name) is not one of the topics this endpoint writes "
                                + "(\(catalog.writable.joined(separator: ", ")); add it to rest.topics).")
        }
        guard let topic = try await metadata({ () async throws(KafkaError) in try await catalog.metadata(name) }) else {
            throw RestError.topicMissing()
        }
        return topic
    }

    /// Kafka metadata, or 50003/50002 when the cluster does not answer.
    private func metadata<T>(_ body: () async throws(KafkaError) -> T) async throws(RestError) -> T {
        do {
            return try await body()
        } catch {
            throw RestError(error.isRetriable ? RestError.kafkaRetriable : RestError.kafkaError,
                            "Kafka error: \(error)")
        }
    }

    private static func pathPartition(_ request: HTTPRequest, in topic: KafkaTopicMetadata) throws(RestError) -> Int32 {
        guard let text = request.pathParameters["partition"], let partition = Int32(text), partition >= 0,
              Int(partition) < topic.partitions.count
        else { throw RestError.partitionMissing() }
        return partition
    }

    private static func partitionJSON(_ partition: KafkaTopicMetadata.Partition) -> String {
        let replicas = partition.replicas.map { broker in
            "{\"broker\":\(broker),\"leader\":\(broker == partition.leader),\"in_sync\":\(partition.inSyncReplicas.contains(broker))}"
        }
        return "{\"partition\":\(partition.id),\"leader\":\(partition.leader),\"replicas\":[\(replicas.joined(separator: ","))]}"
    }

    static func reply(_ status: HTTPResponseStatus, _ json: String, type: String) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": type], body: ByteBuffer(string: json))
    }

    static func reply(_ error: RestError, type: String) -> HTTPResponse {
        reply(error.status, error.json, type: type)
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0xFF)
        }
        return difference == 0
    }
}

/// Gathers one request's delivery reports (from librdkafka's poll thread) and wakes the request when the last
/// one arrived.
final class RestDeliveryCollector: Sendable {
    private struct State {
        var outcomes: [RestProduceResponse.Outcome?]
        var remaining: Int
        var waiter: CheckedContinuation<[RestProduceResponse.Outcome], Never>?
    }

    private let state: Mutex<State>

    init(count: Int) {
        state = Mutex(State(outcomes: Array(repeating: nil, count: count), remaining: count))
    }

    func set(_ index: Int, _ outcome: RestProduceResponse.Outcome) {
        let finished = state.withLock { state -> (CheckedContinuation<[RestProduceResponse.Outcome], Never>, [RestProduceResponse.Outcome])? in
            guard state.outcomes[index] == nil else { return nil }
            state.outcomes[index] = outcome
            state.remaining -= 1
            guard state.remaining == 0, let waiter = state.waiter else { return nil }
            state.waiter = nil
            return (waiter, state.outcomes.map { $0! })
        }
        if let (waiter, outcomes) = finished { waiter.resume(returning: outcomes) }
    }

    func wait() async -> [RestProduceResponse.Outcome] {
        await withCheckedContinuation { continuation in
            let done = state.withLock { state -> [RestProduceResponse.Outcome]? in
                if state.remaining == 0 { return state.outcomes.map { $0! } }
                state.waiter = continuation
                return nil
            }
            if let done { continuation.resume(returning: done) }
        }
    }
}
