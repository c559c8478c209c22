/// Reads the big-endian fields of one pgoutput message; every read names what it reads for the error.
struct PgOutputReader {
    private let bytes: [UInt8]
    private(set) var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { offset == bytes.count }
    var remaining: Int { bytes.count - offset }

    func error(_ message: String) -> PgOutputError { PgOutputError(message: message, offset: offset) }

    private mutating func take(_ count: Int, _ what: String) throws(PgOutputError) -> ArraySlice<UInt8> {
        guard count >= 0, remaining >= count else {
            throw error("the message ends inside the \(what) (\(count) bytes wanted, \(remaining) left)")
        }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    private mutating func integer(_ size: Int, _ what: String) throws(PgOutputError) -> UInt64 {
        try take(size, what).reduce(0) { $0 << 8 | UInt64($1) }
    }

    mutating func byte(_ what: String) throws(PgOutputError) -> UInt8 { UInt8(try integer(1, what)) }
    mutating func uint16(_ what: String) throws(PgOutputError) -> UInt16 { UInt16(try integer(2, what)) }
    mutating func uint32(_ what: String) throws(PgOutputError) -> UInt32 { UInt32(try integer(4, what)) }
    mutating func uint64(_ what: String) throws(PgOutputError) -> UInt64 { try integer(8, what) }
    mutating func int64(_ what: String) throws(PgOutputError) -> Int64 { Int64(bitPattern: try integer(8, what)) }

    mutating func bytes(_ count: Int, _ what: String) throws(PgOutputError) -> [UInt8] { Array(try take(count, what)) }

    /// `count` bytes as a slice of the message (no copy: the slice shares the message's storage).
    mutating func slice(_ count: Int, _ what: String) throws(PgOutputError) -> ArraySlice<UInt8> { try take(count, what) }

    mutating func expect(_ value: UInt8, _ what: String) throws(PgOutputError) {
        let got = try byte(what)
        guard got == value else {
            throw error("\(what) is \(PgOutputMessage.describe(got)), not \(PgOutputMessage.describe(value))")
        }
    }

    /// A NUL-terminated UTF-8 string.
    mutating func string(_ what: String) throws(PgOutputError) -> String {
        guard let end = bytes[offset...].firstIndex(of: 0) else { throw error("the \(what) has no terminating NUL") }
        let text = String(decoding: bytes[offset..<end], as: UTF8.self)
        offset = end + 1
        return text
    }
}
