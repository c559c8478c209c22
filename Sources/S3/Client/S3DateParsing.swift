import Foundation

/// The two date forms S3 uses: ISO 8601 in XML (`2009-10-12T17:50:30.000Z`) and the HTTP date in
/// `Last-Modified` (`Wed, 12 Oct 2009 17:50:00 GMT`).
enum S3DateParsing {
    static func iso8601(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) {
            return date
        }
        return try? Date(text, strategy: Date.ISO8601FormatStyle())
    }

    static func httpDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }
}
