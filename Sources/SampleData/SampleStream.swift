/// Independent random streams per key, so that each table's row for a key can be generated on its own.
enum SampleStream {
    static let personPick: UInt64 = 1
    static let person: UInt64 = 2
    static let pin: UInt64 = 3
    static let geo: UInt64 = 4
}
