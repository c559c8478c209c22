import Foundation
import HTTPServer
import Kafka
import Logging
import NIOCore
import NIOHTTP1
@testable import Pipeline
import PipelineConfig
import Testing

/// The produce API against a stand-in producer: replies, error envelopes, and that a refused request produced
/// nothing.
@Suite struct RestProxyTests {
    static let jsonV2 = "application/vnd.kafka.json.v2+json"

    static func proxy(_ producer: FakeRestProducer, settings: RestConfiguration = RestConfiguration(),
                      users: RestUsers? = nil, writable: [String] = ["p.pin", "p.geo", "p.user", "p.extra"],
                      stats: PipelineStats = PipelineStats()) -> RestProxy
    {
        RestProxy(settings: settings, writableTopics: writable, producer: producer, users: users,
                  stats: stats, logger: Logger(label: "test.rest"), version: "test")
    }

    static func post(_ proxy: RestProxy, _ path: String, _ body: String, contentType: String? = jsonV2,
                     headers extra: [(String, String)] = []) async -> (status: Int, json: Any?, response: HTTPResponse)
    {
        var headers = HTTPHeaders()
        if let contentType { headers.add(name: "Content-Type", value: contentType) }
        for (name, value) in extra { headers.add(name: name, value: value) }
        let response = await proxy.router.respond(
            to: HTTPRequest(method: .POST, uri: path, headers: headers, body: ByteBuffer(string: body)))
        return (Int(response.status.code), try? JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8)), response)
    }

    @Test func theOriginalRequestGetsTheV2Reply() async throws {
        let producer = FakeRestProducer(topics: ["p.pin": 3])
        let row = #"{"index": 7528, "title": "No Title Data Available", "latitude": -89.9787, "ts": "2020-08-28 03:52:47"}"#
        let reply = await Self.post(Self.proxy(producer), "/topics/p.pin", #"{"records": [{"value": "# + row + "}]}")
        #expect(reply.status == 200)
        #expect(reply.response.headers["Content-Type"] == ["application/vnd.kafka.v2+json"])
        #expect(String(buffer: reply.response.body)
            == #"{"offsets":[{"partition":0,"offset":0,"error_code":null,"error":null}],"key_schema_id":null,"value_schema_id":null}"#)
        // The value is the row as sent, compacted: numbers keep their spelling, strings their bytes.
        #expect(producer.produced.map { $0.value.map { String(decoding: $0, as: UTF8.self) } }
            == [#"{"index":7528,"title":"No Title Data Available","latitude":-89.9787,"ts":"2020-08-28 03:52:47"}"#])
        #expect(producer.produced.first?.key == nil && producer.produced.first?.partition == nil)
    }

    @Test func keysPartitionsAndTheBinaryFormat() async throws {
        let producer = FakeRestProducer(topics: ["p.pin": 3])
        let proxy = Self.proxy(producer)
        let binary = await Self.post(proxy, "/topics/p.pin",
                                     #"{"records":[{"key":"a2V5","value":"AAEC/w==","partition":2},{"value":null}]}"#,
                                     contentType: "application/vnd.kafka.binary.v2+json")
        #expect(binary.status == 200)
        #expect(producer.produced == [
            .init(topic: "p.pin", partition: 2, key: Array("key".utf8), value: [0, 1, 2, 255]),
            .init(topic: "p.pin", partition: nil, key: nil, value: nil),
        ])
        let json = await Self.post(proxy, "/topics/p.pin/partitions/1", #"{"records":[{"key":{"k": 1},"value":[1, 2]}]}"#)
        #expect(json.status == 200)
        #expect(producer.produced.last == .init(topic: "p.pin", partition: 1, key: Array(#"{"k":1}"#.utf8),
                                                value: Array("[1,2]".utf8)))
        // The generic v2 type and plain JSON fall back to binary, as in the proxy.
        let fallback = await Self.post(proxy, "/topics/p.pin", #"{"records":[{"value":"eA=="}]}"#, contentType: "application/json")
        #expect(fallback.status == 200 && producer.produced.last?.value == Array("x".utf8))
    }

    /// Every bad input of the issue, with the reply it gets; none of them produces a record.
    @Test func badInputsAreRefusedWholeAndProduceNothing() async throws {
        let producer = FakeRestProducer(topics: ["p.pin": 3, "p.geo": 3, "p.user": 3])
        var settings = RestConfiguration()
        settings.maxRecords = 10
        settings.maxRecordBytes = 1000
        let proxy = Self.proxy(producer, settings: settings)
        let row = #"{"records":[{"value":{"index":1}}]}"#
        let cases: [(String, String, String, String?, [(String, String)], Int, Int)] = [
            ("invalid JSON", "/topics/p.pin", #"{"records":[{"value":{"index":1,}}]}"#, Self.jsonV2, [], 400, 400),
            ("trailing garbage", "/topics/p.pin", row + "x", Self.jsonV2, [], 400, 400),
            ("a lone surrogate", "/topics/p.pin", #"{"records":[{"value":"\ud800"}]}"#, Self.jsonV2, [], 400, 400),
            ("wrong content type", "/topics/p.pin", row, "text/plain", [], 415, 415),
            ("schema format", "/topics/p.pin", row, "application/vnd.kafka.avro.v2+json", [], 415, 415),
            ("no content type", "/topics/p.pin", row, nil, [], 415, 415),
            ("not acceptable", "/topics/p.pin", row, Self.jsonV2, [("Accept", "text/html")], 406, 406),
            ("missing records", "/topics/p.pin", #"{"value":1}"#, Self.jsonV2, [], 422, 422),
            ("records null", "/topics/p.pin", #"{"records":null}"#, Self.jsonV2, [], 422, 422),
            ("records empty", "/topics/p.pin", #"{"records":[]}"#, Self.jsonV2, [], 422, 422),
            ("record not an object", "/topics/p.pin", #"{"records":[1]}"#, Self.jsonV2, [], 422, 422),
            ("binary value an object", "/topics/p.pin", row, "application/vnd.kafka.binary.v2+json", [], 422, 422),
            ("binary value not base64", "/topics/p.pin", #"{"records":[{"value":"a b"}]}"#,
             "application/vnd.kafka.binary.v2+json", [], 422, 422),
            ("too many records", "/topics/p.pin",
             #"{"records":["# + Array(repeating: #"{"value":1}"#, count: 11).joined(separator: ",") + "]}",
             Self.jsonV2, [], 422, 422),
            ("record too large", "/topics/p.pin", #"{"records":[{"value":1},{"value":""# + String(repeating: "x", count: 1000) + #""}]}"#,
             Self.jsonV2, [], 422, 42201),
            ("record partition out of range", "/topics/p.pin", #"{"records":[{"value":1},{"value":1,"partition":3}]}"#,
             Self.jsonV2, [], 422, 42202),
            ("record partition negative", "/topics/p.pin", #"{"records":[{"value":1,"partition":-1}]}"#, Self.jsonV2, [], 422, 42202),
            ("record partition a string", "/topics/p.pin", #"{"records":[{"value":1,"partition":"0"}]}"#, Self.jsonV2, [], 422, 42202),
            ("forbidden topic", "/topics/other", row, Self.jsonV2, [], 403, 40301),
            ("allowed topic missing in Kafka", "/topics/p.extra", row, Self.jsonV2, [], 404, 40401),
            ("path partition out of range", "/topics/p.pin/partitions/3", row, Self.jsonV2, [], 404, 40402),
            ("path partition not a number", "/topics/p.pin/partitions/one", row, Self.jsonV2, [], 404, 40402),
            ("unknown path", "/consumers/g", row, Self.jsonV2, [], 404, 404),
            ("POST on a GET path", "/", row, Self.jsonV2, [], 405, 405),
        ]
        for (name, path, body, contentType, headers, status, code) in cases {
            let reply = await Self.post(proxy, path, body, contentType: contentType, headers: headers)
            let envelope = reply.json as? [String: Any]
            #expect(reply.status == status, "\(name): \(String(buffer: reply.response.body))")
            #expect(envelope?["error_code"] as? Int == code, "\(name): \(String(buffer: reply.response.body))")
            #expect(envelope.map { Set($0.keys) } == ["error_code", "message"], "\(name)")
            #expect((envelope?["message"] as? String)?.isEmpty == false, "\(name)")
        }
        #expect(producer.produced.isEmpty)
    }

    @Test func aFullWindowPastTheQueueTimeoutIs50003() async throws {
        let producer = FakeRestProducer(topics: ["p.pin": 1], mode: .hold)
        var settings = RestConfiguration()
        settings.maxInFlight = 2
        settings.maxRecords = 2
        settings.queueTimeout = .milliseconds(200)
        let proxy = Self.proxy(producer, settings: settings)
        // Two records fill the window and wait for an acknowledgement that does not come.
        let first = Task { await Self.post(proxy, "/topics/p.pin", #"{"records":[{"value":1},{"value":2}]}"#).status }
        while proxy.inFlight < 2 { try await Task.sleep(for: .milliseconds(5)) }
        let started = ContinuousClock.now
        let refused = await Self.post(proxy, "/topics/p.pin", #"{"records":[{"value":3}]}"#)
        #expect(refused.status == 500)
        #expect((refused.json as? [String: Any])?["error_code"] as? Int == 50003)
        #expect(ContinuousClock.now - started >= .milliseconds(200))
        #expect(producer.produced.count == 2, "the refused request produced nothing")
        producer.releaseHeld()
        #expect(await first.value == 200)
        #expect(proxy.inFlight == 0)
        // Room again: the next request goes through (and is held like the others, then released).
        let next = Task { await Self.post(proxy, "/topics/p.pin", #"{"records":[{"value":4}]}"#).status }
        while producer.produced.count < 3 { try await Task.sleep(for: .milliseconds(5)) }
        producer.releaseHeld()
        #expect(await next.value == 200)
    }

    @Test func aFailedRecordIsReportedInItsPlace() async throws {
        let producer = FakeRestProducer(topics: ["p.pin": 1], mode: .failValue(
            "2", KafkaError(code: .messageTimedOut, message: "timed out", isRetriable: true)))
        let reply = await Self.post(Self.proxy(producer), "/topics/p.pin", #"{"records":[{"value":1},{"value":2},{"value":3}]}"#)
        #expect(reply.status == 200)
        let offsets = try #require((reply.json as? [String: Any])?["offsets"] as? [[String: Any]])
        #expect(offsets.count == 3)
        #expect(offsets[0]["offset"] as? Int == 0 && offsets[2]["offset"] as? Int == 2)
        #expect(offsets[1]["partition"] is NSNull && offsets[1]["offset"] is NSNull)
        #expect(offsets[1]["error_code"] as? Int == 50003)
        #expect((offsets[1]["error"] as? String)?.contains("timed out") == true)
    }

    @Test func basicAuthentication() async throws {
        let producer = FakeRestProducer(topics: ["p.pin": 1])
        let proxy = Self.proxy(producer, users: RestUsers(passwords: ["ingest": "s3cret"], file: "users.yaml"))
        let body = #"{"records":[{"value":1}]}"#
        let none = await Self.post(proxy, "/topics/p.pin", body)
        #expect(none.status == 401 && (none.json as? [String: Any])?["error_code"] as? Int == 40101)
        #expect(none.response.headers["WWW-Authenticate"] == [#"Basic realm="pinpipe""#])
        let wrong = await Self.post(proxy, "/topics/p.pin", body,
                                    headers: [("Authorization", "Basic " + Base64.encode(Array("ingest:nope".utf8)))])
        #expect(wrong.status == 401)
        #expect(!String(buffer: wrong.response.body).contains("nope"))
        #expect(producer.produced.isEmpty)
        let right = await Self.post(proxy, "/topics/p.pin", body,
                                    headers: [("Authorization", "Basic " + Base64.encode(Array("ingest:s3cret".utf8)))])
        #expect(right.status == 200 && producer.produced.count == 1)
    }

    @Test func metadataEndpoints() async throws {
        let producer = FakeRestProducer(topics: ["p.pin": 2, "p.geo": 1, "secret": 1])
        let proxy = Self.proxy(producer)
        func get(_ path: String) async -> (Int, Any?) {
            let response = await proxy.router.respond(to: HTTPRequest(method: .GET, uri: path))
            return (Int(response.status.code), try? JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8)))
        }
        #expect(await get("/topics").1 as? [String] == ["p.pin", "p.geo"])
        let topic = await get("/topics/p.pin")
        let partitions = (topic.1 as? [String: Any])?["partitions"] as? [[String: Any]]
        #expect(topic.0 == 200 && partitions?.count == 2 && partitions?.last?["partition"] as? Int == 1)
        #expect(await get("/topics/p.pin/partitions/1").0 == 200)
        #expect(await get("/topics/p.pin/partitions/2").0 == 404)
        #expect(await get("/topics/secret").0 == 403)
        #expect((await get("/").1 as? [String: Any])?["version"] as? String == "test")
    }

    @Test func metricsAndStatusCountRequestsAndRecords() async throws {
        let stats = PipelineStats()
        let producer = FakeRestProducer(topics: ["p.pin": 1], mode: .failValue(
            "3", KafkaError(code: .messageSizeTooLarge, message: "too large", isRetriable: false)))
        let proxy = Self.proxy(producer, stats: stats)
        _ = await Self.post(proxy, "/topics/p.pin", #"{"records":[{"value":1},{"value":2},{"value":3}]}"#)
        _ = await Self.post(proxy, "/topics/p.pin", "nope")
        _ = await Self.post(proxy, "/nowhere", "{}")
        let figures = stats.snapshot()
        #expect(figures.sum(MetricName.restRequests, by: "code") == ["200": 1, "400": 1, "404": 1])
        #expect(figures.sum(MetricName.restRecords) == 2 && figures.sum(MetricName.restRecordErrors) == 1)
        #expect(stats.statusLine(roles: ["rest"]) == "rest 3 requests (2 refused), 2 records (1 failed)")
    }
}
