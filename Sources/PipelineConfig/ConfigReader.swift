import YAML

/// Walks one YAML mapping of the configuration, converting values and remembering which keys were read,
/// so that unknown keys can be reported with their position.
struct ConfigReader {
    let file: String
    let path: String
    let mark: YAMLMark?
    private let entries: [YAMLEntry]
    private var used: Set<String> = []

    /// - Parameter node: the mapping to read; nil or a null scalar reads as an empty mapping.
    init(node: YAMLNode?, file: String, path: String) throws(ConfigError) {
        self.file = file
        self.path = path
        switch node {
        case .none:
            entries = []
            mark = nil
        case .mapping(let entries, let mark)?:
            self.entries = entries
            self.mark = mark
            var seen: [String: YAMLMark] = [:]
            for entry in entries {
                if let first = seen[entry.key.value] {
                    throw ConfigError(code: .duplicateKey, file: file, mark: entry.key.mark,
                                      keyPath: Self.join(path, entry.key.value),
                                      message: "duplicate key (first set at line \(first.line))")
                }
                seen[entry.key.value] = entry.key.mark
            }
        case .scalar(let scalar)? where scalar.isNull:
            entries = []
            mark = scalar.mark
        case let other?:
            throw ConfigError(code: .wrongType, file: file, mark: other.mark, keyPath: path,
                              message: "expected a mapping of keys, got \(other.kindDescription)")
        }
    }

    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func keyPath(_ key: String) -> String { Self.join(path, key) }

    /// The raw node of a key (nil when absent or null), marking the key as known.
    mutating func node(_ key: String) -> YAMLNode? {
        used.insert(key)
        guard let entry = entries.first(where: { $0.key.value == key }) else { return nil }
        if case .scalar(let scalar) = entry.value, scalar.isNull { return nil }
        return entry.value
    }

    func has(_ key: String) -> Bool { entries.contains { $0.key.value == key } }

    func error(_ code: ConfigError.Code, _ key: String, at node: YAMLNode?, _ message: String) -> ConfigError {
        ConfigError(code: code, file: file, mark: node?.mark ?? entries.first { $0.key.value == key }?.key.mark ?? mark,
                    keyPath: keyPath(key), message: message)
    }

    private mutating func scalar(_ key: String, expected: String) throws(ConfigError) -> YAMLScalar? {
        guard let node = node(key) else { return nil }
        guard case .scalar(let scalar) = node else {
            throw error(.wrongType, key, at: node, "expected \(expected), got \(node.kindDescription)")
        }
        return scalar
    }

    mutating func string(_ key: String) throws(ConfigError) -> String? {
        try scalar(key, expected: "a string")?.value
    }

    mutating func string(_ key: String, default value: String) throws(ConfigError) -> String {
        try string(key) ?? value
    }

    mutating func requiredString(_ key: String, why: String? = nil) throws(ConfigError) -> String {
        guard let value = try string(key), !value.isEmpty else {
            var message = "missing required value"
            if let why { message += " (\(why))" }
            throw ConfigError(code: .missingValue, file: file, mark: mark, keyPath: keyPath(key), message: message)
        }
        return value
    }

    mutating func int(_ key: String, default value: Int, range: ClosedRange<Int>? = nil) throws(ConfigError) -> Int {
        guard let scalar = try scalar(key, expected: "an integer") else { return value }
        let text = scalar.value.replacingUnderscores()
        guard !scalar.isQuoted, let parsed = Int(text) else {
            throw error(.wrongType, key, at: .scalar(scalar), "expected an integer, got \"\(scalar.value)\"")
        }
        if let range, !range.contains(parsed) {
            throw error(.invalidValue, key, at: .scalar(scalar),
                        "\(parsed) is out of range (\(range.lowerBound)...\(range.upperBound))")
        }
        return parsed
    }

    mutating func optionalInt(_ key: String, range: ClosedRange<Int>? = nil) throws(ConfigError) -> Int? {
        guard has(key), node(key) != nil else {
            used.insert(key)
            return nil
        }
        return try int(key, default: 0, range: range)
    }

    mutating func double(_ key: String) throws(ConfigError) -> Double? {
        guard let scalar = try scalar(key, expected: "a number") else { return nil }
        guard !scalar.isQuoted, let parsed = Double(scalar.value.replacingUnderscores()), parsed.isFinite else {
            throw error(.wrongType, key, at: .scalar(scalar), "expected a number, got \"\(scalar.value)\"")
        }
        return parsed
    }

    mutating func bool(_ key: String, default value: Bool) throws(ConfigError) -> Bool {
        guard let scalar = try scalar(key, expected: "true or false") else { return value }
        switch scalar.isQuoted ? "" : scalar.value {
        case "true", "True", "TRUE", "yes", "on": return true
        case "false", "False", "FALSE", "no", "off": return false
        default:
            throw error(.wrongType, key, at: .scalar(scalar), "expected true or false, got \"\(scalar.value)\"")
        }
    }

    mutating func duration(_ key: String) throws(ConfigError) -> Duration? {
        guard let scalar = try scalar(key, expected: "a duration") else { return nil }
        guard let parsed = ValueParsers.duration(scalar.value) else {
            throw error(.invalidValue, key, at: .scalar(scalar),
                        "invalid duration \"\(scalar.value)\" (use a number with a unit: 500ms, 30s, 5m, 1h)")
        }
        return parsed
    }

    mutating func duration(_ key: String, default value: Duration, minimum: Duration = .zero) throws(ConfigError) -> Duration {
        guard let parsed = try duration(key) else { return value }
        if parsed < minimum {
            throw error(.invalidValue, key, at: node(key),
                        "must be at least \(ValueParsers.format(minimum)), got \(ValueParsers.format(parsed))")
        }
        return parsed
    }

    mutating func byteSize(_ key: String, default value: Int, minimum: Int = 0) throws(ConfigError) -> Int {
        guard let scalar = try scalar(key, expected: "a size") else { return value }
        guard let parsed = ValueParsers.byteSize(scalar.value) else {
            throw error(.invalidValue, key, at: .scalar(scalar),
                        "invalid size \"\(scalar.value)\" (use bytes or a unit: 512KiB, 16MiB, 1GiB, 10MB)")
        }
        if parsed < minimum {
            throw error(.invalidValue, key, at: .scalar(scalar),
                        "must be at least \(ValueParsers.formatSize(minimum)), got \(scalar.value)")
        }
        return parsed
    }

    mutating func choice<T: RawRepresentable>(_ key: String, default value: T) throws(ConfigError) -> T
    where T: CaseIterable, T.RawValue == String {
        guard let scalar = try scalar(key, expected: "one of \(T.allCases.map(\.rawValue))") else { return value }
        guard let parsed = T(rawValue: scalar.value) else {
            let allowed = T.allCases.map(\.rawValue).joined(separator: ", ")
            throw error(.invalidValue, key, at: .scalar(scalar), "\"\(scalar.value)\" is not one of: \(allowed)")
        }
        return parsed
    }

    mutating func stringList(_ key: String) throws(ConfigError) -> [String]? {
        guard let node = node(key) else { return nil }
        guard case .sequence(let items, _) = node else {
            throw error(.wrongType, key, at: node, "expected a list, got \(node.kindDescription)")
        }
        var result: [String] = []
        for (index, item) in items.enumerated() {
            guard case .scalar(let scalar) = item, !scalar.isNull else {
                throw ConfigError(code: .wrongType, file: file, mark: item.mark, keyPath: "\(keyPath(key))[\(index)]",
                                  message: "expected a string, got \(item.kindDescription)")
            }
            result.append(scalar.value)
        }
        return result
    }

    /// A free-form map of string to scalar (librdkafka properties, S3 metadata).
    mutating func stringMap(_ key: String) throws(ConfigError) -> [String: String] {
        guard let node = node(key) else { return [:] }
        guard case .mapping(let entries, _) = node else {
            throw error(.wrongType, key, at: node, "expected a mapping of names to values, got \(node.kindDescription)")
        }
        var result: [String: String] = [:]
        for entry in entries {
            guard case .scalar(let scalar) = entry.value else {
                throw ConfigError(code: .wrongType, file: file, mark: entry.value.mark,
                                  keyPath: "\(keyPath(key)).\(entry.key.value)",
                                  message: "expected a scalar value, got \(entry.value.kindDescription)")
            }
            if result[entry.key.value] != nil {
                throw ConfigError(code: .duplicateKey, file: file, mark: entry.key.mark,
                                  keyPath: "\(keyPath(key)).\(entry.key.value)", message: "duplicate key")
            }
            result[entry.key.value] = scalar.value
        }
        return result
    }

    /// A nested section as its own reader.
    mutating func section(_ key: String) throws(ConfigError) -> ConfigReader {
        let node = node(key)
        return try ConfigReader(node: node, file: file, path: keyPath(key))
    }

    /// Fails on the first key that was never read, listing the keys this section knows.
    func finish() throws(ConfigError) {
        for entry in entries where !used.contains(entry.key.value) {
            let known = used.sorted().joined(separator: ", ")
            throw ConfigError(code: .unknownKey, file: file, mark: entry.key.mark, keyPath: keyPath(entry.key.value),
                              message: "unknown key (known keys here: \(known))")
        }
    }
}

extension String {
    fileprivate func replacingUnderscores() -> String { String(filter { $0 != "_" }) }
}
