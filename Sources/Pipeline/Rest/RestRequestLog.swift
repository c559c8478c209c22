import HTTPServer
import Logging
import Synchronization

/// The endpoint's journal lines, at a rate a busy proxy can afford: every request at debug; a refused request
/// or a record Kafka failed at notice, at most one line a second per error code (the next line says how many
/// were left out); and a one-line summary per topic at info, at most every 10 s while requests arrive.
/// Fields: `kafka.topic` (KAFKA_TOPIC), `records`, `http.status`, `rest.error_code`. Credentials are never logged.
final class RestRequestLog: Sendable {
    private let logger: Logger
    private let state = Mutex<State>(State())
    private let summaryInterval: Duration

    private struct State {
        var lastRefusal: [Int: ContinuousClock.Instant] = [:]
        var suppressed: [Int: Int] = [:]
        var window: [String: (requests: Int, records: Int, failed: Int)] = [:]
        var windowStart = ContinuousClock.now
    }

    init(logger: Logger, summaryInterval: Duration = .seconds(10)) {
        self.logger = logger
        self.summaryInterval = summaryInterval
    }

    func refused(_ request: HTTPRequest, _ error: RestError) {
        let topic = request.pathParameters["topic"] ?? ""
        logger.debug("REST request refused", metadata: Self.fields(topic: topic, records: 0, status: error))
        let now = ContinuousClock.now
        let left: Int? = state.withLock { state in
            if let last = state.lastRefusal[error.errorCode], now - last < .seconds(1) {
                state.suppressed[error.errorCode, default: 0] += 1
                return nil
            }
            state.lastRefusal[error.errorCode] = now
            return state.suppressed.removeValue(forKey: error.errorCode) ?? 0
        }
        guard let left else { return }
        var fields = Self.fields(topic: topic, records: 0, status: error)
        if left > 0 { fields["rest.suppressed"] = "\(left)" }
        let more = left > 0 ? " (\(left) similar refusals not logged)" : ""
        logger.notice("REST request refused: \(request.method.rawValue) \(request.path): \(error.message)\(more)",
                      metadata: fields)
    }

    func produced(topic: String, records: Int, failed: Int) {
        let status = failed > 0 ? RestError(RestError.kafkaError, "some records failed") : nil
        logger.debug("REST records produced", metadata: Self.fields(topic: topic, records: records, status: status))
        let now = ContinuousClock.now
        let summary: [String: (requests: Int, records: Int, failed: Int)]? = state.withLock { state in
            state.window[topic, default: (0, 0, 0)].requests += 1
            state.window[topic, default: (0, 0, 0)].records += records
            state.window[topic, default: (0, 0, 0)].failed += failed
            guard now - state.windowStart >= summaryInterval else { return nil }
            defer {
                state.window = [:]
                state.windowStart = now
            }
            return state.window
        }
        guard let summary else { return }
        for (topic, figures) in summary.sorted(by: { $0.key < $1.key }) {
            var fields: Logger.Metadata = [LogKey.topic: "\(topic)", LogKey.records: "\(figures.records)",
                                           "rest.requests": "\(figures.requests)"]
            if figures.failed > 0 { fields["rest.failed_records"] = "\(figures.failed)" }
            let level: Logger.Level = figures.failed > 0 ? .notice : .info
            let failed = figures.failed > 0 ? ", \(figures.failed) failed (see the replies' error codes)" : ""
            logger.log(level: level, "REST ingest: \(figures.requests) requests, \(figures.records) records into \(topic)\(failed)",
                       metadata: fields)
        }
    }

    private static func fields(topic: String, records: Int, status error: RestError?) -> Logger.Metadata {
        var fields: Logger.Metadata = [LogKey.topic: "\(topic)", LogKey.records: "\(records)",
                                       "http.status": "\(error.map { Int($0.status.code) } ?? 200)"]
        if let error { fields["rest.error_code"] = "\(error.errorCode)" }
        return fields
    }
}
