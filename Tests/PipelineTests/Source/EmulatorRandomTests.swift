import Foundation
import NIOCore
import PipelineConfig
import Support
import Testing

@testable import Pipeline

@Suite struct EmulatorRandomTests {
    /// CPython: random.seed(100); [(randrange(0, 2), randint(0, 11000)) for _ in range(10)]
    @Test func reproducesTheOriginalEmulatorSequence() {
        var random = EmulatorRandom(seed: 100)
        let events = (0..<10).map { _ in random.nextEvent(maxKey: 11_000) }
        #expect(events.map(\.offset) == [7528, 2863, 5730, 8304, 8731, 1313, 4315, 10794, 5494, 5069])
        #expect(events.map(\.sleepSeconds) == [0, 1, 1, 1, 0, 0, 1, 0, 0, 0])
    }
}
