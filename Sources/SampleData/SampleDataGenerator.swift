/// A deterministic, seeded generator of the three source tables (shared/reference/pinterest-data.md §1).
///
/// Row `n` has key `n` in all three tables and the three rows describe one event: the pin's follower count
/// belongs to the person in the user row, so the published age-group and joining-year patterns hold.
///
/// - Important: Every row depends only on `(seed, key)`, never on `rows` or on other rows, so the first
///   1,000 rows of a 1,000,000-row data set equal a 1,000-row data set, and any row is cheap to produce alone.
public struct SampleDataGenerator: Sendable {
    public static let defaultRows = 11_153
    public static let defaultSeed: UInt64 = 100

    public let seed: UInt64
    public let rows: Int
    /// The person pool, built once per generator (a few milliseconds) because every pin and user row needs it.
    let persons: [SamplePerson]

    public init(seed: UInt64 = SampleDataGenerator.defaultSeed, rows: Int = SampleDataGenerator.defaultRows) {
        precondition(rows >= 0, "rows must not be negative")
        self.seed = seed
        self.rows = rows
        persons = (0..<SamplePerson.poolSize).map { SamplePerson(seed: seed, number: $0) }
    }

    /// The keys of the data set, `0..<rows`.
    public var keys: Range<Int> { 0..<rows }

    public var pins: LazyMapSequence<Range<Int>, PinRow> { keys.lazy.map { pin(at: $0) } }
    public var geos: LazyMapSequence<Range<Int>, GeoRow> { keys.lazy.map { geo(at: $0) } }
    public var users: LazyMapSequence<Range<Int>, UserRow> { keys.lazy.map { user(at: $0) } }

    /// The user row of key `key`.
    public func user(at key: Int) -> UserRow {
        let person = person(at: key)
        return UserRow(
            ind: key, firstName: person.firstName, lastName: person.lastName, age: person.age,
            dateJoined: person.dateJoined)
    }

    /// The person behind key `key` (several keys share a person).
    func person(at key: Int) -> SamplePerson {
        var rng = SplitMix64(seed: seed, key: UInt64(truncatingIfNeeded: key), stream: SampleStream.personPick)
        return persons[rng.below(SamplePerson.poolSize)]
    }

    /// Encodes the rows of `table` for `keys` into `buffer`, one line each (CSV records or JSON Lines).
    public func append(
        _ table: SampleTable, keys: Range<Int>, format: SampleFormat, to buffer: inout SampleOutputBuffer
    ) {
        switch (table, format) {
        case (.pin, .csv): for key in keys { pin(at: key).appendCSV(to: &buffer) }
        case (.geo, .csv): for key in keys { geo(at: key).appendCSV(to: &buffer) }
        case (.user, .csv): for key in keys { user(at: key).appendCSV(to: &buffer) }
        case (.pin, .jsonLines):
            for key in keys {
                pin(at: key).appendJSON(to: &buffer)
                buffer.byte(0x0A)
            }
        case (.geo, .jsonLines):
            for key in keys {
                geo(at: key).appendJSON(to: &buffer)
                buffer.byte(0x0A)
            }
        case (.user, .jsonLines):
            for key in keys {
                user(at: key).appendJSON(to: &buffer)
                buffer.byte(0x0A)
            }
        }
    }

    /// Streams the whole table in chunks of about `chunkBytes` to `sink`.
    public func write(
        _ table: SampleTable, format: SampleFormat, chunkRows: Int = 4_096,
        to sink: (UnsafeBufferPointer<UInt8>) throws -> Void
    ) rethrows {
        var buffer = SampleOutputBuffer(capacity: chunkRows * 400)
        var start = 0
        while start < rows {
            let end = min(rows, start + chunkRows)
            buffer.removeAll()
            append(table, keys: start..<end, format: format, to: &buffer)
            try buffer.bytes.withUnsafeBufferPointer { try sink($0) }
            start = end
        }
    }
}
