import Support
import Testing

@Suite struct BackoffTests {
    @Test func doublesUpToTheMaximum() {
        let backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(1))
        #expect((1...6).map { backoff.ceiling(afterAttempt: $0) } == [
            .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .seconds(1), .seconds(1),
        ])
        #expect(backoff.ceiling(afterAttempt: 1_000_000) == .seconds(1))
    }

    @Test func jitterIsTheUpperHalfOfTheCeiling() {
        let backoff = Backoff(initial: .seconds(1), maximum: .seconds(30))
        #expect(backoff.delay(afterAttempt: 3, unit: 0) == .seconds(2))
        #expect(backoff.delay(afterAttempt: 3, unit: 1) == .seconds(4))
        #expect(backoff.delay(afterAttempt: 3, unit: 0.5) == .seconds(3))
        #expect(backoff.delay(afterAttempt: 3, unit: -7) == .seconds(2), "draws outside [0, 1] are clamped")
    }

    @Test func countsAttemptsUntilReset() {
        var backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(1))
        let first = backoff.next()
        #expect(first >= .milliseconds(50) && first <= .milliseconds(100))
        let second = backoff.next()
        #expect(second >= .milliseconds(100) && second <= .milliseconds(200))
        #expect(backoff.attempt == 2)
        backoff.reset()
        #expect(backoff.attempt == 0)
    }
}

@Suite struct RetryPolicyTests {
    @Test func retriesRetriableErrorsWithBackoffUpToTheAttempts() {
        let policy = RetryPolicy(initialDelay: .seconds(1), maxDelay: .seconds(8), maxAttempts: 4)
        #expect(policy.action(afterAttempt: 1, isRetriable: true, random: 0) == .retry(after: .milliseconds(500)))
        #expect(policy.action(afterAttempt: 3, isRetriable: true, random: 1) == .retry(after: .seconds(4)))
        #expect(policy.action(afterAttempt: 4, isRetriable: true, random: 1) == .giveUp, "4 attempts in total")
        #expect(policy.action(afterAttempt: 1, isRetriable: false, random: 1) == .giveUp, "never a permanent error")
        #expect(policy.with(maxAttempts: nil).action(afterAttempt: 1_000, isRetriable: true, random: 1)
                == .retry(after: .seconds(8)))
        #expect(RetryPolicy.none.action(afterAttempt: 1, isRetriable: true, random: 0) == .giveUp)
    }
}
