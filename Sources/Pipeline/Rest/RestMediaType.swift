/// Content negotiation as the Kafka REST Proxy v2 does it, for the `json` and `binary` embedded formats.
enum RestMediaType {
    /// How a produce request's keys and values are embedded.
    enum EmbeddedFormat: String, Sendable {
        /// Any JSON value, produced as its compact JSON text.
        case json
        /// A base64 string, produced as the decoded bytes.
        case binary
    }

    static let v2 = "application/vnd.kafka.v2+json"
    static let json = "application/json"

    /// The embedded format a produce request's `Content-Type` selects. The generic v2 types and plain JSON fall
    /// back to `binary`, as in the proxy; schema formats (avro, jsonschema, protobuf) need a schema registry that
    /// pinpipe does not have: 415 like any other type.
    static func produceFormat(contentType: String?) -> Result<EmbeddedFormat, RestError> {
        guard let contentType, let type = mediaType(contentType) else {
            return .failure(RestError(RestError.unsupportedMediaType, "HTTP 415 Unsupported Media Type"))
        }
        switch type {
        case "application/vnd.kafka.json.v2+json": return .success(.json)
        case "application/vnd.kafka.binary.v2+json", "application/vnd.kafka.v2+json", "application/vnd.kafka+json",
             "application/json", "application/octet-stream":
            return .success(.binary)
        default:
            return .failure(RestError(RestError.unsupportedMediaType, "HTTP 415 Unsupported Media Type"))
        }
    }

    /// The reply's content type for an `Accept` header: the v2 type unless the client accepts only plain JSON;
    /// nil (406) when it accepts neither.
    static func replyType(accept: [String]) -> String? {
        let ranges = accept.flatMap { $0.split(separator: ",") }.compactMap { range -> (String, Double)? in
            let parts = range.split(separator: ";")
            guard let first = parts.first, let type = mediaType(String(first)) else { return nil }
            var quality = 1.0
            for parameter in parts.dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.restTrimmed() }
                if pair.count == 2, pair[0] == "q", let q = Double(pair[1]) { quality = q }
            }
            return (type, quality)
        }.filter { $0.1 > 0 }
        if ranges.isEmpty { return accept.isEmpty ? v2 : nil }
        let v2Types: Set<String> = [v2, "application/vnd.kafka+json", "*/*", "application/*"]
        if ranges.contains(where: { v2Types.contains($0.0) }) { return v2 }
        if ranges.contains(where: { $0.0 == json }) { return json }
        return nil
    }

    /// `type/subtype` in lower case, parameters dropped; nil when it is not one.
    static func mediaType(_ text: String) -> String? {
        let type = text.split(separator: ";", maxSplits: 1).first.map { $0.restTrimmed() } ?? ""
        guard type.contains("/") else { return nil }
        return type.lowercased()
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    func restTrimmed() -> String {
        var slice = self[...]
        while let first = slice.first, first == " " || first == "\t" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice = slice.dropLast() }
        return String(slice)
    }
}
