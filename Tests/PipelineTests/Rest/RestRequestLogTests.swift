import HTTPServer
import Logging
@testable import Pipeline
import TestSupport
import Testing

/// The endpoint's journal lines are structured and rate-limited: a flood of refusals is one line a second per
/// error code (the next one counts those left out), and accepted requests are summed per topic.
@Suite struct RestRequestLogTests {
    @Test func refusalsAreRateLimitedAndProducedRecordsSummarised() throws {
        let capture = LogCapture()
        let log = RestRequestLog(logger: capture.logger("rest", level: .info), summaryInterval: .zero)
        var request = HTTPRequest(method: .POST, uri: "/topics/p.pin")
        request.pathParameters = ["topic": "p.pin"]
        let error = RestError(RestError.unprocessable, "The request has no \"records\" field.")
        for _ in 0..<50 { log.refused(request, error) }
        let refusals = capture.entries.filter { $0.message.hasPrefix("REST request refused") }
        #expect(refusals.count == 1)
        let fields = try #require(refusals.first?.metadata)
        #expect(fields["kafka.topic"] == "p.pin" && fields["http.status"] == "422" && fields["rest.error_code"] == "422")
        #expect(refusals.first?.level == .notice)

        log.produced(topic: "p.pin", records: 3, failed: 0)
        let summary = try #require(capture.entries.first { $0.message.hasPrefix("REST ingest") })
        #expect(summary.message == "REST ingest: 1 requests, 3 records into p.pin")
        #expect(summary.metadata["kafka.topic"] == "p.pin" && summary.metadata["records"] == "3")
    }
}
