import Foundation

/// One AWS shared file (`~/.aws/credentials` or `~/.aws/config`), parsed as INI with line numbers kept, so
/// every error can name the file and the line.
///
/// In the config file a section is `[profile name]` (or `[default]`); in the credentials file it is
/// `[name]`. Sections are stored under the bare profile name. Indented lines continue the previous key's
/// nested block (e.g. `s3 =` settings) and are skipped.
public struct AWSProfileFile: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var value: String
        public var line: Int
    }

    public struct Section: Sendable, Equatable {
        public var line: Int
        public var entries: [String: Entry] = [:]
    }

    public var path: String
    public var sections: [String: Section]

    /// Reads and parses the file; nil when it does not exist.
    public static func load(path: String, isConfigFile: Bool) throws(S3Error) -> AWSProfileFile? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .credentials("profile", "\(path): cannot be read (\(error.localizedDescription))")
        }
        return try parse(text, path: path, isConfigFile: isConfigFile)
    }

    public static func parse(_ text: String, path: String, isConfigFile: Bool) throws(S3Error) -> AWSProfileFile {
        var file = AWSProfileFile(path: path, sections: [:])
        var current: String?
        var inSkippedSection = false
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if let first = rawLine.first, first == " " || first == "\t", current != nil || inSkippedSection {
                continue  // a nested setting of the previous key
            }
            if line.hasPrefix("[") {
                guard let close = line.firstIndex(of: "]") else {
                    throw .credentials("profile", "\(path) line \(lineNumber): section header without ']'")
                }
                var name = line[line.index(after: line.startIndex)..<close].trimmingCharacters(in: .whitespaces)
                if isConfigFile, name.hasPrefix("profile ") || name.hasPrefix("profile\t") {
                    name = name.dropFirst("profile".count).trimmingCharacters(in: .whitespaces)
                } else if isConfigFile, name != "default" {
                    // `[sso-session x]`, `[services x]` and other non-profile sections.
                    current = nil
                    inSkippedSection = true
                    continue
                }
                if name.isEmpty { throw .credentials("profile", "\(path) line \(lineNumber): empty profile name") }
                current = name
                inSkippedSection = false
                if file.sections[name] == nil { file.sections[name] = Section(line: lineNumber) }
                continue
            }
            guard let equals = line.firstIndex(of: "=") else {
                throw .credentials("profile", "\(path) line \(lineNumber): expected 'key = value' or '[section]'")
            }
            guard let section = current else {
                if inSkippedSection { continue }
                throw .credentials("profile", "\(path) line \(lineNumber): setting outside any [profile] section")
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            // An inline comment needs whitespace before it (`key = value # note`).
            if let hash = value.range(of: " #") ?? value.range(of: "\t#") {
                value = value[..<hash.lowerBound].trimmingCharacters(in: .whitespaces)
            }
            if key.isEmpty { throw .credentials("profile", "\(path) line \(lineNumber): empty key") }
            file.sections[section]?.entries[key] = Entry(value: value, line: lineNumber)
        }
        return file
    }
}
