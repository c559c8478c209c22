/// A position in a YAML document, 1-based as editors show it.
public struct YAMLMark: Sendable, Hashable, CustomStringConvertible {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public var description: String { "\(line):\(column)" }
}

/// A scalar with where it was written and how (quoted scalars are never read as null/bool/number).
public struct YAMLScalar: Sendable, Hashable {
    public var value: String
    public var isQuoted: Bool
    public var tag: String?
    public var mark: YAMLMark

    public init(value: String, isQuoted: Bool = false, tag: String? = nil, mark: YAMLMark) {
        self.value = value
        self.isQuoted = isQuoted
        self.tag = tag
        self.mark = mark
    }

    /// True for the plain scalars YAML 1.2's core schema reads as null: `~`, `null`, `Null`, `NULL` and empty.
    public var isNull: Bool {
        guard !isQuoted, tag == nil || tag == "tag:yaml.org,2002:null" else { return false }
        return value.isEmpty || value == "~" || value == "null" || value == "Null" || value == "NULL"
    }
}

/// One key/value pair of a mapping, keys kept in document order.
public struct YAMLEntry: Sendable, Hashable {
    public var key: YAMLScalar
    public var value: YAMLNode

    public init(key: YAMLScalar, value: YAMLNode) {
        self.key = key
        self.value = value
    }
}

/// A parsed YAML node: the tree the configuration loader walks, with marks for error messages.
public indirect enum YAMLNode: Sendable, Hashable {
    case scalar(YAMLScalar)
    case mapping([YAMLEntry], mark: YAMLMark)
    case sequence([YAMLNode], mark: YAMLMark)

    /// Where the node starts.
    public var mark: YAMLMark {
        switch self {
        case .scalar(let scalar): scalar.mark
        case .mapping(_, let mark): mark
        case .sequence(_, let mark): mark
        }
    }

    /// A short name of the node's kind for messages ("a mapping", "a list", "a scalar").
    public var kindDescription: String {
        switch self {
        case .scalar(let scalar): scalar.isNull ? "null" : "a scalar"
        case .mapping: "a mapping"
        case .sequence: "a list"
        }
    }
}
