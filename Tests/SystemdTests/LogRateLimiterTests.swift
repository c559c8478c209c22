import Logging
import Testing
@testable import Systemd

@Suite struct LogRateLimiterTests {
    let t0 = ContinuousClock.now

    @Test func suppressesAfterBurstAndSummarisesOnDifferentMessage() {
        var limiter = LogRateLimiter(window: .seconds(10), burst: 3)
        var emitted = 0
        for i in 0..<10 {
            let verdict = limiter.admit(level: .warning, message: "broker down", label: "k", now: t0 + .milliseconds(i))
            #expect(verdict.summaries.isEmpty)
            if verdict.emit { emitted += 1 }
        }
        #expect(emitted == 3)
        let next = limiter.admit(level: .warning, message: "broker up", label: "k", now: t0 + .seconds(1))
        #expect(next.emit)
        #expect(next.summaries.count == 1)
        #expect(next.summaries.first?.suppressed == 7)
        #expect(next.summaries.first?.key.message == "broker down")
        #expect(next.summaries.first?.message.contains("repeated 7 more times") == true)
    }

    @Test func windowEndStartsANewRunAndSummarises() {
        var limiter = LogRateLimiter(window: .seconds(10), burst: 2)
        for i in 0..<5 { _ = limiter.admit(level: .error, message: "x", label: "l", now: t0 + .seconds(i)) }
        #expect(limiter.expire(now: t0 + .seconds(9)) == nil)
        let summary = limiter.expire(now: t0 + .seconds(10))
        #expect(summary?.suppressed == 3)
        #expect(limiter.expire(now: t0 + .seconds(11)) == nil)
        // After the run was closed the same message is fresh again.
        #expect(limiter.admit(level: .error, message: "x", label: "l", now: t0 + .seconds(12)).emit)
    }

    @Test func sameMessageAfterWindowEmitsWithSummary() {
        var limiter = LogRateLimiter(window: .seconds(1), burst: 1)
        #expect(limiter.admit(level: .warning, message: "a", label: "l", now: t0).emit)
        #expect(!limiter.admit(level: .warning, message: "a", label: "l", now: t0 + .milliseconds(500)).emit)
        let later = limiter.admit(level: .warning, message: "a", label: "l", now: t0 + .seconds(2))
        #expect(later.emit)
        #expect(later.summaries.map(\.suppressed) == [1])
    }

    @Test func labelAndLevelArePartOfTheKey() {
        var limiter = LogRateLimiter(window: .seconds(10), burst: 1)
        #expect(limiter.admit(level: .warning, message: "a", label: "one", now: t0).emit)
        #expect(limiter.admit(level: .warning, message: "a", label: "two", now: t0).emit)
        #expect(limiter.admit(level: .error, message: "a", label: "two", now: t0).emit)
        #expect(!limiter.admit(level: .error, message: "a", label: "two", now: t0).emit)
    }

    @Test func levelsBelowMinimumPassAndDoNotBreakARun() {
        var limiter = LogRateLimiter(window: .seconds(10), burst: 1)
        #expect(limiter.admit(level: .warning, message: "w", label: "l", now: t0).emit)
        for _ in 0..<5 { #expect(limiter.admit(level: .info, message: "i", label: "l", now: t0).emit) }
        #expect(!limiter.admit(level: .warning, message: "w", label: "l", now: t0).emit)
    }

    @Test func noSummaryWithoutSuppression() {
        var limiter = LogRateLimiter(window: .seconds(10), burst: 3)
        _ = limiter.admit(level: .warning, message: "a", label: "l", now: t0)
        _ = limiter.admit(level: .warning, message: "a", label: "l", now: t0)
        #expect(limiter.admit(level: .warning, message: "b", label: "l", now: t0).summaries.isEmpty)
        #expect(limiter.expire(now: t0 + .seconds(60)) == nil)
    }

    @Test func handlerWritesSummaryLine() {
        let sink = LineSink()
        let limiter = SharedLogRateLimiter(LogRateLimiter(window: .seconds(60), burst: 2))
        let logger = Logger(label: "rl") { ConsoleLogHandler(label: $0, rateLimiter: limiter, output: sink.append) }
        for _ in 0..<6 { logger.warning("same") }
        logger.warning("other")
        let lines = sink.lines
        #expect(lines.count == 4)
        #expect(lines.filter { $0.contains("] same") }.count == 3)
        #expect(lines[2].contains("repeated 4 more times"))
        #expect(lines[3].contains("] other"))
    }
}
