/// Samples parsed from Prometheus' text exposition format (what `/metrics` serves).
///
/// The STATUS line reads the daemon's own exposition through this type, and `pinpipe status` the one it fetched
/// over HTTP, so both show exactly what a scrape shows. Comment lines (`# HELP`, `# TYPE`) are skipped.
public struct MetricsSnapshot: Sendable, Equatable {
    public struct Sample: Sendable, Equatable {
        public var name: String
        public var labels: [String: String]
        public var value: Double

        public init(name: String, labels: [String: String] = [:], value: Double) {
            self.name = name
            self.labels = labels
            self.value = value
        }
    }

    public var samples: [Sample]

    public init(samples: [Sample]) {
        self.samples = samples
    }

    /// Parses an exposition; lines that are not samples are skipped.
    public init(parsing text: String) {
        samples = []
        for line in text.split(whereSeparator: \.isNewline) {
            if line.first == "#" || line.allSatisfy(\.isWhitespace) { continue }
            if let sample = Self.parse(line) { samples.append(sample) }
        }
    }

    /// Every sample of `name` whose labels include `matching`.
    public func samples(_ name: String, matching: [String: String] = [:]) -> [Sample] {
        samples.filter { sample in
            sample.name == name && matching.allSatisfy { sample.labels[$0.key] == $0.value }
        }
    }

    /// The sum over every sample of `name` whose labels include `matching` (0 when there is none).
    public func sum(_ name: String, matching: [String: String] = [:]) -> Double {
        samples(name, matching: matching).reduce(0) { $0 + $1.value }
    }

    /// The value of the only (or first) sample of `name`, nil when absent.
    public func value(_ name: String, matching: [String: String] = [:]) -> Double? {
        samples(name, matching: matching).first?.value
    }

    /// Sums per value of `label`.
    public func sum(_ name: String, by label: String) -> [String: Double] {
        var result: [String: Double] = [:]
        for sample in samples(name) { result[sample.labels[label] ?? "", default: 0] += sample.value }
        return result
    }

    static func parse(_ line: Substring) -> Sample? {
        var labels: [String: String] = [:]
        let nameEnd = line.firstIndex { $0 == "{" || $0 == " " } ?? line.endIndex
        let name = String(line[..<nameEnd])
        guard !name.isEmpty else { return nil }
        var rest = line[nameEnd...]
        if rest.first == "{" {
            rest = rest.dropFirst()
            while let first = rest.first, first != "}" {
                if first == "," || first == " " { rest = rest.dropFirst(); continue }
                guard let equals = rest.firstIndex(of: "=") else { return nil }
                let key = String(rest[..<equals])
                rest = rest[rest.index(after: equals)...]
                guard rest.first == "\"" else { return nil }
                rest = rest.dropFirst()
                var value = ""
                var escaped = false
                while let character = rest.first {
                    rest = rest.dropFirst()
                    if escaped {
                        value.append(character == "n" ? "\n" : character)
                        escaped = false
                    } else if character == "\\" {
                        escaped = true
                    } else if character == "\"" {
                        break
                    } else {
                        value.append(character)
                    }
                }
                labels[key] = value
            }
            guard rest.first == "}" else { return nil }
            rest = rest.dropFirst()
        }
        let fields = rest.split(separator: " ", omittingEmptySubsequences: true)
        guard let text = fields.first, let value = Self.number(text) else { return nil }
        return Sample(name: name, labels: labels, value: value)
    }

    static func number(_ text: Substring) -> Double? {
        switch text {
        case "+Inf", "Inf": return .infinity
        case "-Inf": return -.infinity
        case "NaN": return .nan
        default: return Double(text)
        }
    }
}
