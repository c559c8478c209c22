import CYAML

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Parses YAML text with libyaml's event API into a `YAMLNode` tree.
///
/// This is the only code that calls libyaml. Anchors and aliases are resolved; a file must hold at most one
/// document; mapping keys must be scalars.
public enum YAMLParser {
    /// The libyaml version, e.g. "0.2.5".
    public static var libraryVersion: String { String(cString: yaml_get_version_string()) }

    /// Reads and parses a file. Returns nil for an empty document.
    public static func parse(file path: String) throws(YAMLError) -> YAMLNode? {
        let bytes: [UInt8]
        do {
            bytes = try readFile(path)
        } catch let error as YAMLError {
            throw error
        } catch {
            throw YAMLError(code: .unreadable, file: path, mark: nil, message: "cannot read the file: \(error)")
        }
        return try parse(bytes: bytes, fileName: path)
    }

    /// Parses text held in memory; `fileName` is used in error messages.
    public static func parse(string: String, fileName: String = "<string>") throws(YAMLError) -> YAMLNode? {
        try parse(bytes: Array(string.utf8), fileName: fileName)
    }

    /// Parses raw bytes (UTF-8).
    public static func parse(bytes: [UInt8], fileName: String) throws(YAMLError) -> YAMLNode? {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            throw YAMLError(code: .syntax, file: fileName, mark: nil, message: "libyaml could not initialise a parser")
        }
        defer { yaml_parser_delete(&parser) }
        return try bytes.withUnsafeBufferPointer { buffer throws(YAMLError) -> YAMLNode? in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var builder = TreeBuilder(fileName: fileName)
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else {
                    throw syntaxError(parser, fileName: fileName)
                }
                defer { yaml_event_delete(&event) }
                if try builder.handle(&event) { break }
            }
            return builder.root
        }
    }

    private static func syntaxError(_ parser: yaml_parser_t, fileName: String) -> YAMLError {
        let problem = parser.problem.map { String(cString: $0) } ?? "invalid YAML"
        let context = parser.context.map { String(cString: $0) }
        let mark = YAMLMark(line: Int(parser.problem_mark.line) + 1, column: Int(parser.problem_mark.column) + 1)
        var message = "YAML syntax error: \(problem)"
        if let context { message += " (\(context) at line \(Int(parser.context_mark.line) + 1))" }
        return YAMLError(code: .syntax, file: fileName, mark: mark, message: message)
    }

    private static func readFile(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            throw YAMLError(code: .unreadable, file: path, mark: nil, message: "cannot open the file: \(reason)")
        }
        defer { close(fd) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                throw YAMLError(code: .unreadable, file: path, mark: nil, message: "cannot read the file: \(reason)")
            }
            if count == 0 { break }
            result.append(contentsOf: chunk[0..<count])
        }
        return result
    }
}

/// Turns the event stream into nodes with a stack of open collections.
private struct TreeBuilder {
    enum Open {
        case mapping(entries: [YAMLEntry], pendingKey: YAMLScalar?, mark: YAMLMark, anchor: String?)
        case sequence(items: [YAMLNode], mark: YAMLMark, anchor: String?)
    }

    let fileName: String
    var stack: [Open] = []
    var anchors: [String: YAMLNode] = [:]
    var root: YAMLNode?
    var documents = 0

    init(fileName: String) { self.fileName = fileName }

    /// Handles one event; returns true at the end of the stream.
    mutating func handle(_ event: inout yaml_event_t) throws(YAMLError) -> Bool {
        let mark = YAMLMark(line: Int(event.start_mark.line) + 1, column: Int(event.start_mark.column) + 1)
        switch event.type {
        case YAML_STREAM_END_EVENT:
            return true
        case YAML_DOCUMENT_START_EVENT:
            documents += 1
            if documents > 1 {
                throw YAMLError(code: .unsupported, file: fileName, mark: mark,
                                message: "the file holds more than one YAML document; keep a single document")
            }
        case YAML_SCALAR_EVENT:
            let scalarEvent = event.data.scalar
            let value = String(decoding: UnsafeBufferPointer(start: scalarEvent.value, count: scalarEvent.length),
                               as: UTF8.self)
            let quoted = scalarEvent.style == YAML_SINGLE_QUOTED_SCALAR_STYLE
                || scalarEvent.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE
                || scalarEvent.style == YAML_LITERAL_SCALAR_STYLE
                || scalarEvent.style == YAML_FOLDED_SCALAR_STYLE
            let tag = scalarEvent.tag.map { String(cString: $0) }
            let scalar = YAMLScalar(value: value, isQuoted: quoted, tag: tag, mark: mark)
            if let anchor = scalarEvent.anchor { anchors[String(cString: anchor)] = .scalar(scalar) }
            try add(.scalar(scalar), mark: mark)
        case YAML_ALIAS_EVENT:
            let name = String(cString: event.data.alias.anchor)
            guard let node = anchors[name] else {
                throw YAMLError(code: .unsupported, file: fileName, mark: mark, message: "unknown alias *\(name)")
            }
            try add(node, mark: mark)
        case YAML_SEQUENCE_START_EVENT:
            let anchor = event.data.sequence_start.anchor.map { String(cString: $0) }
            stack.append(.sequence(items: [], mark: mark, anchor: anchor))
        case YAML_SEQUENCE_END_EVENT:
            guard case .sequence(let items, let start, let anchor) = stack.popLast() else { break }
            let node = YAMLNode.sequence(items, mark: start)
            if let anchor { anchors[anchor] = node }
            try add(node, mark: start)
        case YAML_MAPPING_START_EVENT:
            let anchor = event.data.mapping_start.anchor.map { String(cString: $0) }
            stack.append(.mapping(entries: [], pendingKey: nil, mark: mark, anchor: anchor))
        case YAML_MAPPING_END_EVENT:
            guard case .mapping(let entries, _, let start, let anchor) = stack.popLast() else { break }
            let node = YAMLNode.mapping(entries, mark: start)
            if let anchor { anchors[anchor] = node }
            try add(node, mark: start)
        default:
            break
        }
        return false
    }

    private mutating func add(_ node: YAMLNode, mark: YAMLMark) throws(YAMLError) {
        guard let top = stack.popLast() else {
            root = node
            return
        }
        switch top {
        case .sequence(var items, let start, let anchor):
            items.append(node)
            stack.append(.sequence(items: items, mark: start, anchor: anchor))
        case .mapping(var entries, let pendingKey, let start, let anchor):
            if let key = pendingKey {
                entries.append(YAMLEntry(key: key, value: node))
                stack.append(.mapping(entries: entries, pendingKey: nil, mark: start, anchor: anchor))
            } else {
                guard case .scalar(let key) = node else {
                    throw YAMLError(code: .unsupported, file: fileName, mark: mark,
                                    message: "mapping keys must be plain scalars, not \(node.kindDescription)")
                }
                stack.append(.mapping(entries: entries, pendingKey: key, mark: start, anchor: anchor))
            }
        }
    }
}
