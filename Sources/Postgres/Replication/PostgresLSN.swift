/// A position in PostgreSQL's write-ahead log (`pg_lsn`): 64 bits, written as two hexadecimal halves `X/Y`.
public struct PostgresLSN: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var value: UInt64

    public init(_ value: UInt64) { self.value = value }

    /// Parses the text form `16/B374D848`; nil for anything else.
    public init?(_ text: some StringProtocol) {
        let halves = text.split(separator: "/", omittingEmptySubsequences: false)
        guard halves.count == 2, (1...8).contains(halves[0].count), (1...8).contains(halves[1].count),
              let high = UInt32(halves[0], radix: 16), let low = UInt32(halves[1], radix: 16)
        else { return nil }
        value = UInt64(high) << 32 | UInt64(low)
    }

    public static let zero = PostgresLSN(0)

    public var description: String {
        String(UInt32(truncatingIfNeeded: value >> 32), radix: 16, uppercase: true) + "/"
            + String(UInt32(truncatingIfNeeded: value), radix: 16, uppercase: true)
    }

    /// The text form's UTF-8 bytes, written directly (no `String` on the way: one per captured change).
    public var utf8: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(17)
        func hex(_ half: UInt32) {
            var shift = 28
            while shift > 0 && (half >> UInt32(shift)) & 0xF == 0 { shift -= 4 }
            while shift >= 0 {
                let digit = UInt8((half >> UInt32(shift)) & 0xF)
                bytes.append(digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "A") + digit - 10)
                shift -= 4
            }
        }
        hex(UInt32(truncatingIfNeeded: value >> 32))
        bytes.append(UInt8(ascii: "/"))
        hex(UInt32(truncatingIfNeeded: value))
        return bytes
    }

    public static func < (lhs: PostgresLSN, rhs: PostgresLSN) -> Bool { lhs.value < rhs.value }
}
