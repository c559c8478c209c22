/// The original emulator's random sequence: CPython's Mersenne Twister seeded with an integer, drawing
/// `randrange(0, 2)` (the sleep) then `randint(0, max)` (the row offset) per event.
///
/// - Important: With seed 100 this reproduces the original's keys 7528, 2863, 5730, 8304, … exactly, because
///   it follows CPython's `init_by_array` seeding and its `_randbelow` rejection sampling bit for bit.
struct EmulatorRandom: Sendable {
    private var state = [UInt32](repeating: 0, count: 624)
    private var index = 625

    init(seed: UInt32) {
        initGenrand(19_650_218)
        // init_by_array with the key [seed] (CPython splits the absolute seed into 32-bit words).
        let key: [UInt32] = [seed]
        var i = 1
        var j = 0
        for _ in 0..<max(624, key.count) {
            let previous = state[i - 1] ^ (state[i - 1] >> 30)
            state[i] = (state[i] ^ (previous &* 1_664_525)) &+ key[j] &+ UInt32(j)
            i += 1
            j += 1
            if i >= 624 { state[0] = state[623]; i = 1 }
            if j >= key.count { j = 0 }
        }
        for _ in 0..<623 {
            let previous = state[i - 1] ^ (state[i - 1] >> 30)
            state[i] = (state[i] ^ (previous &* 1_566_083_941)) &- UInt32(i)
            i += 1
            if i >= 624 { state[0] = state[623]; i = 1 }
        }
        state[0] = 0x8000_0000
        index = 624
    }

    private mutating func initGenrand(_ seed: UInt32) {
        state[0] = seed
        for i in 1..<624 {
            state[i] = 1_812_433_253 &* (state[i - 1] ^ (state[i - 1] >> 30)) &+ UInt32(i)
        }
        index = 624
    }

    mutating func nextUInt32() -> UInt32 {
        if index >= 624 { twist() }
        var y = state[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9d2c_5680
        y ^= (y << 15) & 0xefc6_0000
        y ^= y >> 18
        return y
    }

    private mutating func twist() {
        for i in 0..<624 {
            let y = (state[i] & 0x8000_0000) | (state[(i + 1) % 624] & 0x7fff_ffff)
            var next = state[(i + 397) % 624] ^ (y >> 1)
            if y & 1 != 0 { next ^= 0x9908_b0df }
            state[i] = next
        }
        index = 0
    }

    /// CPython's `_randbelow(n)` for n < 2^32: rejection sampling on `getrandbits(n.bit_length())`.
    mutating func below(_ n: UInt32) -> UInt32 {
        precondition(n > 0)
        let bits = 32 - n.leadingZeroBitCount
        while true {
            let value = nextUInt32() >> UInt32(32 - bits)
            if value < n { return value }
        }
    }

    /// One emulator event: the sleep in whole seconds (0 or 1) and the row offset in `0...maxKey`.
    mutating func nextEvent(maxKey: Int) -> (sleepSeconds: Int, offset: Int) {
        let sleep = Int(below(2))
        let offset = Int(below(UInt32(maxKey) + 1))
        return (sleep, offset)
    }
}
