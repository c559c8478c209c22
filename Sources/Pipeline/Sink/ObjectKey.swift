/// S3 object keys in the layout of Confluent's S3 sink, which existing Spark jobs read:
/// `<prefix>/<topic>/partition=<p>/<topic>+<p>+<startOffset zero-padded to 10>.json`.
struct ObjectKey: Sendable, Hashable {
    var topic: String
    var partition: Int32
    var startOffset: Int64

    static func zeroPadded(_ offset: Int64) -> String {
        let digits = String(offset)
        return digits.count >= 10 ? digits : String(repeating: "0", count: 10 - digits.count) + digits
    }

    /// The full key. `timePath` (extension) goes between the partition folder and the file name.
    func key(prefix: String, timePath: String? = nil, gzip: Bool = false) -> String {
        var key = prefix.isEmpty ? "" : prefix + "/"
        key += "\(topic)/partition=\(partition)/"
        if let timePath { key += timePath + "/" }
        key += "\(topic)+\(partition)+\(Self.zeroPadded(startOffset)).json"
        if gzip { key += ".gz" }
        return key
    }

    /// Parses a key written by `key(prefix:timePath:gzip:)`; nil for anything else.
    static func parse(_ key: String) -> ObjectKey? {
        let fileName = key.split(separator: "/").last.map(String.init) ?? key
        var name = fileName
        if name.hasSuffix(".json.gz") { name.removeLast(8) } else if name.hasSuffix(".json") { name.removeLast(5) } else {
            return nil
        }
        let parts = name.split(separator: "+", omittingEmptySubsequences: false)
        guard parts.count >= 3, let offset = Int64(parts[parts.count - 1]), let partition = Int32(parts[parts.count - 2])
        else { return nil }
        let topic = parts[0..<(parts.count - 2)].joined(separator: "+")
        return ObjectKey(topic: topic, partition: partition, startOffset: offset)
    }
}
