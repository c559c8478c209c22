import Testing

@testable import Pipeline

@Suite struct SinkMemoryBudgetTests {
    @Test func spareBodiesCountAgainstTheLimitAndTheirReleaseWakesWaiters() async {
        let budget = SinkMemoryBudget(limit: 100)
        budget.adjust(open: 40, sealed: 30)
        #expect(budget.hasRoom(for: 30) && !budget.hasRoom(for: 31))
        // An upload finished and its body stayed as a spare: the total does not move.
        budget.adjust(open: 0, sealed: -30, spare: 30)
        #expect(budget.usage == (open: 40, sealed: 0, spare: 30))
        budget.adjust(open: 40, sealed: 0)
        #expect(budget.isOverLimit && budget.peak == 110)
        let seen = budget.generation
        let waiting = Task { await budget.waitForRelease(after: seen, timeout: .seconds(30)) }
        budget.adjust(open: 0, sealed: 0, spare: -30)  // the sink let the spare go
        await waiting.value
        #expect(budget.generation > seen && !budget.isOverLimit)
    }
}
