/// Collects librdkafka's `APIVERSION` debug lines: "<broker>: Broker API support:" starts a report, then one
/// "<broker>:   ApiKey Produce (0) Versions 0..9" line per API.
struct APIVersionCapture {
    var first: [String: String]?
    var current: [String: String] = [:]

    mutating func add(_ line: String) {
        if line.hasSuffix("Broker API support:") {
            if first == nil, !current.isEmpty { first = current }
            current = [:]
            return
        }
        guard let range = line.range(of: "ApiKey ") else { return }
        let parts = line[range.upperBound...].split(separator: " ")
        // ["Produce", "(0)", "Versions", "0..9"]
        guard parts.count >= 4, parts[2] == "Versions" else { return }
        current[String(parts[0])] = String(parts[3])
    }
}
