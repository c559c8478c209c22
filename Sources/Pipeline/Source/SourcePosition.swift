import Foundation

/// Where the source stands in one table, as the offsets topic records it (value of the record whose key is
/// the table's name, e.g. `pin`): `{"commit":7,"key":12345,"mode":"snapshot"}`, or for the emulator
/// `{"commit":7,"events":42,"key":5730,"mode":"emulate","seed":100}`.
///
/// - Important: `key` is the highest key whose row is in a committed transaction (snapshot and follow resume
///   with `key > it`); `events` is the number of emulator events whose rows are committed, so a restart with
///   the same `seed` draws the sequence on from event `events + 1`. `commit` numbers the transactions, so the
///   latest position wins even when the topic's partitioning changed.
public struct SourcePosition: Sendable, Equatable, CustomStringConvertible {
    public var mode: String
    public var key: Int64?
    public var events: Int?
    public var seed: UInt32?
    public var commit: Int64

    public init(mode: String, key: Int64?, events: Int? = nil, seed: UInt32? = nil, commit: Int64 = 0) {
        self.mode = mode
        self.key = key
        self.events = events
        self.seed = seed
        self.commit = commit
    }

    public var description: String {
        var parts = ["mode \(mode)"]
        if let key { parts.append("key \(key)") }
        if let events { parts.append("events \(events)") }
        if let seed { parts.append("seed \(seed)") }
        parts.append("commit \(commit)")
        return parts.joined(separator: ", ")
    }

    /// Compact JSON, keys sorted.
    public func encoded() -> [UInt8] {
        var object: [String: Any] = ["mode": mode, "commit": commit]
        if let key { object["key"] = key }
        if let events { object["events"] = events }
        if let seed { object["seed"] = seed }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Array(data)
    }

    /// Parses a record value; nil when it is not a pinpipe position.
    public static func decode(_ bytes: [UInt8]) -> SourcePosition? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
              let mode = object["mode"] as? String
        else { return nil }
        func integer(_ name: String) -> Int64? { (object[name] as? NSNumber)?.int64Value }
        return SourcePosition(mode: mode, key: integer("key"), events: integer("events").map { Int($0) },
                              seed: integer("seed").flatMap { UInt32(exactly: $0) }, commit: integer("commit") ?? 0)
    }
}
