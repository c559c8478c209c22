/// A row of one of the three tables that can encode itself as CSV (for `COPY`) and as the pipeline's JSON.
public protocol SampleRow: Sendable, Equatable {
    static var table: SampleTable { get }
    /// The row key (`index` or `ind`).
    var key: Int { get }
    /// One CSV record, columns in table order, terminated by `\n`.
    func appendCSV(to buffer: inout SampleOutputBuffer)
    /// One compact JSON object, columns in table order, timestamps as `2020-08-28T03:52:47`; no newline.
    func appendJSON(to buffer: inout SampleOutputBuffer)
}

extension SampleRow {
    public var csvLine: String {
        var buffer = SampleOutputBuffer(capacity: 512)
        appendCSV(to: &buffer)
        return String(decoding: buffer.bytes, as: UTF8.self)
    }

    public var jsonText: String {
        var buffer = SampleOutputBuffer(capacity: 512)
        appendJSON(to: &buffer)
        return String(decoding: buffer.bytes, as: UTF8.self)
    }
}
