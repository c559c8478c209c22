import Foundation

/// The source's progress per table — the highest key below which Kafka acknowledged everything — kept in the
/// state directory so a restart resumes where the last run's acknowledgements ended.
///
/// - Important: Writes are atomic: a temporary file is written and fsync'ed, renamed over the old one, and the
///   directory is fsync'ed, so a crash leaves either the old or the new checkpoint, never a torn one.
public struct CheckpointStore: Sendable {
    public let path: String

    public init(stateDirectory: String, topicPrefix: String) {
        path = stateDirectory + "/checkpoint-\(topicPrefix).json"
    }

    /// Keys per table name (`pin`, `geo`, `user`); empty when no checkpoint exists yet.
    public func load() throws -> [String: Int64] {
        guard let data = FileManager.default.contents(atPath: path) else { return [:] }
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let tables = object["tables"] as? [String: Any]
        else {
            throw CheckpointError(path: path, message: "not a pinpipe checkpoint (expected {\"tables\": {...}})")
        }
        var result: [String: Int64] = [:]
        for (name, value) in tables {
            guard let number = value as? NSNumber else {
                throw CheckpointError(path: path, message: "tables.\(name) is not a number")
            }
            result[name] = number.int64Value
        }
        return result
    }

    public func save(_ keys: [String: Int64]) throws {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let body = try JSONSerialization.data(withJSONObject: ["version": 1, "tables": keys], options: [.sortedKeys])
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CheckpointError(path: temporary, message: String(cString: strerror(errno))) }
        let written = body.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd)
        close(fd)
        guard written == body.count, synced == 0 else {
            throw CheckpointError(path: temporary, message: "write failed: \(String(cString: strerror(errno)))")
        }
        guard rename(temporary, path) == 0 else {
            throw CheckpointError(path: path, message: "rename failed: \(String(cString: strerror(errno)))")
        }
        let dirfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirfd >= 0 {
            fsync(dirfd)
            close(dirfd)
        }
    }

    public func remove() throws {
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
    }
}

public struct CheckpointError: Error, CustomStringConvertible, RetriableError {
    public var path: String
    public var message: String
    public var isRetriable: Bool { false }
    public var description: String { "checkpoint \(path): \(message)" }
}
