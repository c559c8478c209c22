/// A YAML file that could not be read or parsed.
public struct YAMLError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// The file could not be opened or read.
        case unreadable
        /// libyaml rejected the text.
        case syntax
        /// Something valid YAML allows but pinpipe's files do not (several documents, unknown aliases, complex keys).
        case unsupported
    }

    public var code: Code
    public var file: String
    public var mark: YAMLMark?
    public var message: String

    public init(code: Code, file: String, mark: YAMLMark?, message: String) {
        self.code = code
        self.file = file
        self.mark = mark
        self.message = message
    }

    /// Retrying cannot fix a file: the operator has to edit it.
    public var isRetriable: Bool { false }

    public var description: String {
        if let mark { return "\(file):\(mark.line):\(mark.column): \(message)" }
        return "\(file): \(message)"
    }
}
