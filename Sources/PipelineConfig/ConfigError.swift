import YAML

/// A configuration problem, located by file, line, column and key path.
public struct ConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        case unreadableFile
        case malformedFile
        case unknownKey
        case wrongType
        case missingValue
        case invalidValue
        case duplicateKey
    }

    public var code: Code
    public var file: String
    public var mark: YAMLMark?
    /// Dotted path of the key, e.g. `s3.batch.max_age`; empty for the whole file.
    public var keyPath: String
    public var message: String

    public init(code: Code, file: String, mark: YAMLMark?, keyPath: String, message: String) {
        self.code = code
        self.file = file
        self.mark = mark
        self.keyPath = keyPath
        self.message = message
    }

    /// Editing the file is the only fix.
    public var isRetriable: Bool { false }

    public var description: String {
        var text = file
        if let mark { text += ":\(mark.line):\(mark.column)" }
        text += ": "
        if !keyPath.isEmpty { text += "\(keyPath): " }
        return text + message
    }

    init(_ yaml: YAMLError) {
        self.init(code: yaml.code == .unreadable ? .unreadableFile : .malformedFile, file: yaml.file,
                  mark: yaml.mark, keyPath: "", message: yaml.message)
    }
}
