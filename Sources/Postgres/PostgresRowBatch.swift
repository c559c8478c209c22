import CLibPQ
import Foundation

/// A block of rows in text format, owning its `PGresult`.
public final class PostgresRowBatch: @unchecked Sendable {
    // @unchecked Sendable: the PGresult is never modified after this object is created (only PQget* readers
    // are called on it, and PQclear in deinit when no other reference exists). libpq documents PGresult as
    // read-only after creation and safe to pass between threads; `columns` and `count` are immutable lets.
    private let result: OpaquePointer
    private let tracker: PostgresBatchTracker?
    public let columns: [PostgresColumn]
    public let count: Int

    /// Takes ownership of `result` (a PGRES_TUPLES_OK or PGRES_COMMAND_OK result).
    init(takingOwnershipOf result: OpaquePointer, tracker: PostgresBatchTracker? = nil) {
        self.result = result
        self.tracker = tracker
        let fieldCount = Int(PQnfields(result))
        var columns: [PostgresColumn] = []
        columns.reserveCapacity(fieldCount)
        for index in 0..<fieldCount {
            let name = PQfname(result, Int32(index)).map { String(cString: $0) } ?? ""
            columns.append(PostgresColumn(name: name, typeOID: UInt32(PQftype(result, Int32(index)))))
        }
        self.columns = columns
        self.count = Int(PQntuples(result))
        tracker?.created(rows: count)
    }

    /// A batch built in memory (no server): `rows[r][c]` is the text form of the value, nil for NULL.
    /// Useful for tests of code that consumes batches.
    public convenience init(columns: [PostgresColumn], rows: [[String?]]) {
        guard let result = PQmakeEmptyPGresult(nil, PGRES_TUPLES_OK) else {
            fatalError("PQmakeEmptyPGresult failed: out of memory")
        }
        let names = columns.map { strdup($0.name) }
        defer { names.forEach { free($0) } }
        var descriptors = columns.enumerated().map { index, column in
            PGresAttDesc(
                name: names[index], tableid: 0, columnid: 0, format: 0,
                typid: Oid(column.typeOID), typlen: -1, atttypmod: -1)
        }
        let attributesSet = descriptors.withUnsafeMutableBufferPointer {
            PQsetResultAttrs(result, Int32(columns.count), $0.baseAddress)
        }
        precondition(attributesSet != 0, "PQsetResultAttrs failed")
        for (rowIndex, row) in rows.enumerated() {
            precondition(row.count == columns.count, "row \(rowIndex) has \(row.count) values for \(columns.count) columns")
            for (columnIndex, value) in row.enumerated() {
                let stored: Int32
                if let value {
                    var bytes = Array(value.utf8)
                    bytes.append(0)
                    stored = bytes.withUnsafeMutableBufferPointer { buffer in
                        buffer.withMemoryRebound(to: CChar.self) {
                            PQsetvalue(result, Int32(rowIndex), Int32(columnIndex), $0.baseAddress, Int32(buffer.count - 1))
                        }
                    }
                } else {
                    stored = PQsetvalue(result, Int32(rowIndex), Int32(columnIndex), nil, -1)
                }
                precondition(stored != 0, "PQsetvalue failed")
            }
        }
        self.init(takingOwnershipOf: result)
    }

    deinit {
        PQclear(result)
        tracker?.released()
    }

    /// Whether the value is SQL NULL.
    @inline(__always)
    public func isNull(row: Int, column: Int) -> Bool {
        PQgetisnull(result, Int32(row), Int32(column)) != 0
    }

    /// The value's text bytes (no terminating NUL), without copying. Empty for NULL.
    ///
    /// - Important: The buffer is valid only inside `body`.
    @inline(__always)
    public func withValue<R>(row: Int, column: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let r = Int32(row)
        let c = Int32(column)
        let length = Int(PQgetlength(result, r, c))
        guard let pointer = PQgetvalue(result, r, c) else {
            return try body(UnsafeRawBufferPointer(start: nil, count: 0))
        }
        return try body(UnsafeRawBufferPointer(start: UnsafeRawPointer(pointer), count: length))
    }

    /// The value's text bytes, or nil for SQL NULL, without copying: two libpq calls for a non-empty value
    /// (`PQgetisnull` only for an empty one, which may be NULL).
    ///
    /// - Important: The buffer is valid only inside `body`.
    @inline(__always)
    public func withNullableValue<R>(row: Int, column: Int, _ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        let r = Int32(row)
        let c = Int32(column)
        let length = Int(PQgetlength(result, r, c))
        if length == 0 && PQgetisnull(result, r, c) != 0 { return try body(nil) }
        guard let pointer = PQgetvalue(result, r, c) else { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        return try body(UnsafeRawBufferPointer(start: UnsafeRawPointer(pointer), count: length))
    }

    /// The value as a String, nil for NULL.
    public func string(row: Int, column: Int) -> String? {
        if isNull(row: row, column: column) { return nil }
        return withValue(row: row, column: column) { String(decoding: $0, as: UTF8.self) }
    }

    /// The index of the column called `name`, if any.
    public func columnIndex(named name: String) -> Int? {
        columns.firstIndex { $0.name == name }
    }
}
