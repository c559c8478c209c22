import Testing

@testable import SampleData

@Suite struct SplitMix64Tests {
    @Test func matchesTheReferenceSequence() {
        // The published SplitMix64 outputs for seed 0.
        var rng = SplitMix64(seed: 0)
        #expect(rng.next() == 0xE220_A839_7B1D_CDAF)
        #expect(rng.next() == 0x6E78_9E6A_A1B9_65F4)
        #expect(rng.next() == 0x06C4_5D18_8009_454F)
    }

    @Test func sameSeedSameStreamDifferentSeedDifferentStream() {
        var a = SplitMix64(seed: 100, key: 7, stream: 3)
        var b = SplitMix64(seed: 100, key: 7, stream: 3)
        var c = SplitMix64(seed: 101, key: 7, stream: 3)
        var d = SplitMix64(seed: 100, key: 8, stream: 3)
        var e = SplitMix64(seed: 100, key: 7, stream: 4)
        let first = (0..<8).map { _ in a.next() }
        #expect(first == (0..<8).map { _ in b.next() })
        #expect(first != (0..<8).map { _ in c.next() })
        #expect(first != (0..<8).map { _ in d.next() })
        #expect(first != (0..<8).map { _ in e.next() })
    }

    @Test func boundedDrawsStayInRangeAndCoverIt() {
        var rng = SplitMix64(seed: 42)
        var seen = Set<Int>()
        for _ in 0..<10_000 {
            let v = rng.below(7)
            #expect((0..<7).contains(v))
            seen.insert(v)
        }
        #expect(seen.count == 7)
        for _ in 0..<10_000 {
            let u = rng.unit()
            #expect(u >= 0 && u < 1)
        }
    }

    @Test func normalHasMeanZeroAndUnitSpread() {
        var rng = SplitMix64(seed: 9)
        let n = 50_000
        let xs = (0..<n).map { _ in rng.normal() }
        let mean = xs.reduce(0, +) / Double(n)
        let variance = xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n)
        #expect(abs(mean) < 0.02)
        #expect(abs(variance - 1) < 0.03)
    }
}
