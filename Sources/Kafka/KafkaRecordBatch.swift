/// The records of one poll, stored compactly: every key and value in one byte buffer and a fixed-size
/// descriptor per record, so a poll of thousands of records costs a handful of allocations instead of several
/// per record. ``subscript(_:)`` materializes one record as a ``KafkaMessage`` when one is needed.
public struct KafkaRecordBatch: Sendable {
    /// Where one record lives in the batch.
    public struct Record: Sendable {
        /// Index into ``KafkaRecordBatch/topics``.
        public var topicIndex: Int32
        public var partition: Int32
        public var offset: Int64
        /// Milliseconds since the epoch, or -1 when the record has none.
        public var timestamp: Int64
        var valueStart: Int
        var valueCount: Int32
        /// -1 for a record without a key.
        var keyCount: Int32
        var keyStart: Int
        /// Index into `headers`, or -1 for a record without headers.
        var headerIndex: Int32
    }

    /// The distinct topic names of the batch.
    public private(set) var topics: [String] = []
    public private(set) var records: [Record] = []
    private var bytes: [UInt8] = []
    private var headers: [[KafkaHeader]] = []

    public init() {}

    /// A batch holding `messages`, in order (tests, and callers that already have messages).
    public init(_ messages: [KafkaMessage]) {
        for message in messages {
            message.value.withUnsafeBytes { value in
                if let key = message.key {
                    key.withUnsafeBytes { key in
                        append(topic: message.topic, partition: message.partition, offset: message.offset, key: key,
                               value: value, timestamp: message.timestamp, headers: message.headers)
                    }
                } else {
                    append(topic: message.topic, partition: message.partition, offset: message.offset, key: nil,
                           value: value, timestamp: message.timestamp, headers: message.headers)
                }
            }
        }
    }

    public var count: Int { records.count }
    public var isEmpty: Bool { records.isEmpty }

    /// Bytes the batch has room for without growing (tests).
    var byteCapacity: Int { bytes.capacity }

    /// Bytes of keys and values held.
    public var byteCount: Int { bytes.count }

    /// Reserves room for `records` records of `bytes` key and value bytes in total; an empty batch takes a
    /// recycled buffer from `pool` when one is big enough (``recycle(to:)``).
    public mutating func reserveCapacity(records: Int, bytes: Int, pool: KafkaRecordBufferPool = .shared) {
        self.records.reserveCapacity(records)
        if self.bytes.isEmpty, self.bytes.capacity < bytes {
            self.bytes = pool.take(minimumCapacity: bytes)
        } else {
            self.bytes.reserveCapacity(bytes)
        }
    }

    /// Hands the byte buffer over for reuse by a later poll and empties the batch. Call it when done with a
    /// batch (the sink does, after copying the values into its object bodies); a copy of the batch kept
    /// elsewhere stays intact (the buffer is copy-on-write: a shared one is never reused in place).
    public mutating func recycle(to pool: KafkaRecordBufferPool = .shared) {
        let buffer = bytes
        bytes = []
        records.removeAll()
        headers.removeAll()
        topics.removeAll()
        pool.give(buffer)
    }

    /// Appends a record; `topic` is compared with the last topic first, so runs of one topic stay cheap.
    public mutating func append(topic: String, partition: Int32, offset: Int64, key: UnsafeRawBufferPointer?,
                                value: UnsafeRawBufferPointer, timestamp: Int64?, headers: [KafkaHeader] = []) {
        append(topicIndex: topicIndex(of: topic), partition: partition, offset: offset, key: key, value: value,
               timestamp: timestamp ?? -1, headers: headers)
    }

    /// Appends a record of a topic already in ``topics``; `timestamp` is -1 for none.
    mutating func append(topicIndex: Int32, partition: Int32, offset: Int64, key: UnsafeRawBufferPointer?,
                         value: UnsafeRawBufferPointer, timestamp: Int64, headers: [KafkaHeader]) {
        let keyStart = bytes.count
        if let key { bytes.append(contentsOf: key) }
        let valueStart = bytes.count
        bytes.append(contentsOf: value)
        var headerIndex: Int32 = -1
        if !headers.isEmpty {
            headerIndex = Int32(self.headers.count)
            self.headers.append(headers)
        }
        records.append(Record(topicIndex: topicIndex, partition: partition, offset: offset, timestamp: timestamp,
                              valueStart: valueStart, valueCount: Int32(value.count),
                              keyCount: key.map { Int32($0.count) } ?? -1, keyStart: keyStart,
                              headerIndex: headerIndex))
    }

    /// Registers a topic name and returns its index (the poll loop caches it per librdkafka topic handle).
    mutating func topicIndex(of topic: String) -> Int32 {
        if let last = topics.last, last == topic { return Int32(topics.count - 1) }
        if let found = topics.firstIndex(of: topic) { return Int32(found) }
        topics.append(topic)
        return Int32(topics.count - 1)
    }

    public func topic(at index: Int) -> String { topics[Int(records[index].topicIndex)] }

    public func topicPartition(at index: Int) -> KafkaTopicPartition {
        KafkaTopicPartition(topic: topic(at: index), partition: records[index].partition)
    }

    /// Calls `body` with the value bytes of record `index`, in place.
    public func withValue<R>(at index: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let record = records[index]
        return try bytes.withUnsafeBytes { all in
            try body(UnsafeRawBufferPointer(rebasing: all[record.valueStart..<record.valueStart + Int(record.valueCount)]))
        }
    }

    /// Record `index` as a standalone message (copies its key and value).
    public subscript(index: Int) -> KafkaMessage {
        let record = records[index]
        let value = Array(bytes[record.valueStart..<record.valueStart + Int(record.valueCount)])
        let key = record.keyCount < 0 ? nil : Array(bytes[record.keyStart..<record.keyStart + Int(record.keyCount)])
        return KafkaMessage(
            topic: topics[Int(record.topicIndex)], partition: record.partition, offset: record.offset, key: key,
            value: value, timestamp: record.timestamp < 0 ? nil : record.timestamp,
            headers: record.headerIndex < 0 ? [] : headers[Int(record.headerIndex)])
    }

    /// Every record as a message.
    public var messages: [KafkaMessage] { (0..<count).map { self[$0] } }
}
