/// A small RFC 4180 reader (PostgreSQL's CSV dialect) for checking the generator's CSV, independent of it.
/// Returns the records, each a list of fields; `nil` stands for an unquoted empty field (SQL NULL in COPY).
enum CSVReader {
    static func records(_ text: String) -> [[String?]] {
        var records: [[String?]] = []
        var fields: [String?] = []
        var field: [UInt8] = []
        var quoted = false
        var inQuotes = false
        let bytes = Array(text.utf8)
        var i = 0
        func endField() {
            fields.append(field.isEmpty && !quoted ? nil : String(decoding: field, as: UTF8.self))
            field = []
            quoted = false
        }
        while i < bytes.count {
            let b = bytes[i]
            if inQuotes {
                if b == 0x22 {
                    if i + 1 < bytes.count && bytes[i + 1] == 0x22 {
                        field.append(0x22)
                        i += 1
                    } else {
                        inQuotes = false
                    }
                } else {
                    field.append(b)
                }
            } else if b == 0x22 {
                inQuotes = true
                quoted = true
            } else if b == 0x2C {
                endField()
            } else if b == 0x0A {
                endField()
                records.append(fields)
                fields = []
            } else {
                field.append(b)
            }
            i += 1
        }
        if !field.isEmpty || !fields.isEmpty {
            endField()
            records.append(fields)
        }
        return records
    }
}
