import CRdKafka

/// The librdkafka the process is linked against (at run time, so `LD_LIBRARY_PATH` builds show up here).
public enum KafkaLibrary {
    /// The oldest librdkafka pinpipe supports: 2.0.0.
    public static let minimumVersionNumber = 0x0200_0000

    /// librdkafka's version string, e.g. `2.0.2`.
    public static var version: String { String(cString: rd_kafka_version_str()) }

    /// `rd_kafka_version()`: `0xMMmmrrxx` (major, minor, revision, pre-release).
    public static var versionNumber: Int { Int(rd_kafka_version()) }

    /// Throws a clear error when the linked librdkafka is older than 2.0.
    public static func checkMinimumVersion() throws(KafkaError) {
        try check(versionNumber: versionNumber, version: version)
    }

    static func check(versionNumber: Int, version: String) throws(KafkaError) {
        guard versionNumber >= minimumVersionNumber else {
            throw KafkaError(
                code: .libraryTooOld,
                message: "librdkafka \(version) is too old: pinpipe needs librdkafka 2.0 or newer "
                    + "(install librdkafka1 >= 2.0, e.g. Debian 12's 2.0.2, or point LD_LIBRARY_PATH at one)",
                isRetriable: false)
        }
    }
}
