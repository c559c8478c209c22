import Foundation
import Postgres
import Testing

/// Measures encoder throughput on pinterest_data-shaped rows (prints rows/s; never fails on time).
@Suite struct PostgresRowEncoderBenchmark {
    /// ≈ 600-byte rows like the real pins, with some escaping work (quotes, a newline) in the description.
    static func pinBatch(rows: Int) -> PostgresRowBatch {
        var generator = SplitMix64(seed: 42)
        let categories = ["art", "beauty", "christmas", "diy-and-crafts", "education", "finance", "travel", "vehicles"]
        let values: [[String?]] = (0..<rows).map { index in
            let category = categories[Int(generator.next() % UInt64(categories.count))]
            let words = (0..<40).map { _ in "word\(generator.next() % 1000)" }.joined(separator: " ")
            return [
                String(index), UUID().uuidString.lowercased(), "A \"quoted\" title about \(category)",
                "Description:\n" + words, "Poster \(generator.next() % 5000)", "\(generator.next() % 900)k",
                "tag,list,\(category),ideas,home,decor", "image",
                "https://i.pinimg.com/originals/\(generator.next() % 100)/\(generator.next())/\(generator.next()).jpg",
                "1", "Local save in /data/\(category)", category,
            ]
        }
        return PostgresRowBatch(columns: PostgresRowEncoderTests.pinColumns, rows: values)
    }

    @Test func pinRowsPerSecond() throws {
        let batch = Self.pinBatch(rows: 20_000)
        let encoder = try PostgresRowEncoder(columns: batch.columns, keyColumn: "index")
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 << 20)
        var totalRows = 0
        var totalBytes = 0
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            for _ in 0..<3 {
                buffer.removeAll(keepingCapacity: true)
                for row in 0..<batch.count {
                    encoder.encodeValue(batch, row: row, into: &buffer)
                    buffer.append(0x0A)
                }
                totalRows += batch.count
                totalBytes += buffer.count
            }
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print(String(format: "PostgresRowEncoder: %d rows (%.0f bytes/row) in %.3f s = %.0f rows/s, %.1f MB/s",
            totalRows, Double(totalBytes) / Double(totalRows), seconds, Double(totalRows) / seconds,
            Double(totalBytes) / seconds / 1e6))
        // The output is what it should be: one valid JSON object per line, keys in order.
        let lines = buffer.split(separator: 0x0A)
        #expect(lines.count == batch.count)
        let last = try #require(try JSONSerialization.jsonObject(with: Data(lines[lines.count - 1])) as? [String: Any])
        #expect(last["index"] as? Int == batch.count - 1)
        #expect(last["description"] as? String == batch.string(row: batch.count - 1, column: 3))
    }
}

/// A small seedable PRNG (SplitMix64) so generated test data is repeatable.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
