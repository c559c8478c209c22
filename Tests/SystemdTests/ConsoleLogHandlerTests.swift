import Logging
import Testing
@testable import Systemd

#if canImport(Glibc)
import Glibc
#endif

@Suite struct ConsoleLogHandlerTests {
    @Test func timestampFormat() {
        // 2026-11-29T07:04:41Z = 1795935881
        #expect(ConsoleLogHandler.timestamp(timespec(tv_sec: 1_795_935_881, tv_nsec: 123_999_999))
            == "2026-11-29T07:04:41.123Z")
        #expect(ConsoleLogHandler.timestamp(timespec(tv_sec: 0, tv_nsec: 5_000_000)) == "1970-01-01T00:00:00.005Z")
    }

    @Test func lineLayout() {
        var record = LogRecord(level: .info, message: "batch stored", label: "pinpipe.sink",
                               metadata: ["s3.key": "topics/p.pin/x.json", "records": "3", "note": "two words"])
        record.error = nil
        let line = ConsoleLogHandler.format(record, time: timespec(tv_sec: 1_795_935_881, tv_nsec: 0))
        #expect(line == "2026-11-29T07:04:41.000Z info [pinpipe.sink] batch stored note=\"two words\" records=3 "
            + "s3.key=topics/p.pin/x.json\n")
    }

    @Test func escapesValues() {
        let sink = LineSink()
        let logger = Logger(label: "c") { ConsoleLogHandler(label: $0, rateLimiter: nil, output: sink.append) }
        logger.error("failed", metadata: ["v": "a\nb\"c", "e": ""])
        let line = sink.lines.first
        #expect(line?.contains(" error [c] failed e=\"\" v=\"a\\nb\\\"c\"") == true)
        #expect(sink.lines.count == 1)
    }

    @Test func respectsDynamicLevel() {
        let sink = LineSink()
        let level = DynamicLogLevel(.warning)
        let logger = Logger(label: "d") { ConsoleLogHandler(label: $0, level: level, rateLimiter: nil, output: sink.append) }
        logger.info("hidden")
        level.level = .debug
        logger.debug("shown")
        #expect(sink.lines.count == 1)
        #expect(sink.lines.first?.contains("debug [d] shown") == true)
    }
}
