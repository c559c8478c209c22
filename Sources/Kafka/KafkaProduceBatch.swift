/// Records for `KafkaProducer.produce(route:batch:)`, laid out in one byte buffer: every key and value is written
/// straight into `bytes`, and each record keeps only offsets and its delivery token. Reused across calls (call
/// `removeAll()`), a batch allocates nothing per record.
public struct KafkaProduceBatch: Sendable {
    struct Entry: Sendable {
        var token: Int
        var keyStart: Int
        /// -1 for a record without a key.
        var keyCount: Int
        var valueStart: Int
        var valueCount: Int
    }

    private(set) var bytes: [UInt8] = []
    private(set) var entries: [Entry] = []

    public init() {}

    /// How many records the batch holds.
    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    /// Empties the batch, keeping its buffers.
    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        entries.removeAll(keepingCapacity: true)
    }

    /// Appends one record. `key` appends the key's bytes and returns false for a record without a key; `value`
    /// appends the value's bytes. `token` (0 … `KafkaProducer.maxDeliveryToken`) reaches the route's receiver.
    public mutating func append(
        token: Int, key: (inout [UInt8]) -> Bool, value: (inout [UInt8]) -> Void
    ) {
        precondition(token >= 0 && token <= KafkaProducer.maxDeliveryToken, "delivery token \(token) out of range")
        let keyStart = bytes.count
        let keyCount = key(&bytes) ? bytes.count - keyStart : -1
        if keyCount < 0 { bytes.removeSubrange(keyStart...) }
        let valueStart = bytes.count
        value(&bytes)
        entries.append(Entry(token: token, keyStart: keyStart, keyCount: keyCount, valueStart: valueStart,
                             valueCount: bytes.count - valueStart))
    }
}
