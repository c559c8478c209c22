import Foundation

/// The data set laid out as Confluent's S3 sink (and pinpipe's sink) would store it, for Spark tests:
/// `<root>/topics/<prefix>.<table>/partition=0/<prefix>.<table>+0+<startOffset, 10 digits>.json`.
///
/// Everything goes to partition 0 with offset = key, so each object holds keys `start..<start+recordsPerObject`.
public struct SampleS3Layout: Sendable {
    public var topicPrefix: String
    public var keyPrefix: String
    public var recordsPerObject: Int

    public init(topicPrefix: String = "0ab336d6fcf7", keyPrefix: String = "topics", recordsPerObject: Int = 10_000) {
        precondition(recordsPerObject > 0, "recordsPerObject must be positive")
        self.topicPrefix = topicPrefix
        self.keyPrefix = keyPrefix
        self.recordsPerObject = recordsPerObject
    }

    /// The object key for the batch of `table` that starts at `startOffset` (partition 0).
    public func objectKey(_ table: SampleTable, startOffset: Int, partition: Int = 0) -> String {
        let topic = table.topic(prefix: topicPrefix)
        let digits = String(startOffset)
        let padded = String(repeating: "0", count: max(0, 10 - digits.count)) + digits
        return "\(keyPrefix)/\(topic)/partition=\(partition)/\(topic)+\(partition)+\(padded).json"
    }

    /// The object keys of a data set of `rows` rows, per table, in offset order.
    public func objectKeys(_ table: SampleTable, rows: Int) -> [String] {
        stride(from: 0, to: rows, by: recordsPerObject).map { objectKey(table, startOffset: $0) }
    }

    /// Writes the three tables under `directory` and returns the relative keys written.
    @discardableResult
    public func write(_ generator: SampleDataGenerator, to directory: URL) throws -> [String] {
        var written: [String] = []
        var buffer = SampleOutputBuffer(capacity: recordsPerObject * 400)
        for table in SampleTable.allCases {
            for start in stride(from: 0, to: generator.rows, by: recordsPerObject) {
                let key = objectKey(table, startOffset: start)
                let url = directory.appendingPathComponent(key)
                try FileManager.default.createDirectory(
                    at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                buffer.removeAll()
                generator.append(
                    table, keys: start..<min(generator.rows, start + recordsPerObject), format: .jsonLines,
                    to: &buffer)
                try Data(buffer.bytes).write(to: url, options: .atomic)
                written.append(key)
            }
        }
        return written
    }
}
