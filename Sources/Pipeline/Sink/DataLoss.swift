import Foundation
import Kafka
import PipelineConfig

/// Offsets of one topic-partition that the broker deleted before the sink read them (the group's position fell
/// below the log start offset). Never silent: logged as an error, counted in STATUS, and stored in S3 as a loss
/// record beside the data, which `pinpipe verify` reads back.
public struct DataLoss: Sendable, Equatable, CustomStringConvertible {
    public var partition: KafkaTopicPartition
    /// First and last lost offset (inclusive).
    public var from: Int64
    public var to: Int64
    public var detectedAt: Date
    public var reason: String
    public var policy: DataLossPolicy

    public init(partition: KafkaTopicPartition, from: Int64, to: Int64, detectedAt: Date, reason: String,
                policy: DataLossPolicy) {
        self.partition = partition
        self.from = from
        self.to = to
        self.detectedAt = detectedAt
        self.reason = reason
        self.policy = policy
    }

    public var count: Int64 { to - from + 1 }

    public var description: String {
        "\(partition.topic)[\(partition.partition)] offsets \(from)...\(to) (\(count) records) were deleted by the broker "
            + "before the sink read them"
    }

    /// `<prefix>/_pinpipe/loss/<topic>/partition=<p>/<topic>+<p>+<from:010>.json`: beside the data, outside the
    /// `<prefix>/<topic>/` folders that Spark reads. One key per loss, so recording it again overwrites it.
    public static func keyPrefix(s3Prefix: String, topic: String) -> String {
        (s3Prefix.isEmpty ? "" : s3Prefix + "/") + "_pinpipe/loss/\(topic)/"
    }

    public func key(s3Prefix: String) -> String {
        Self.keyPrefix(s3Prefix: s3Prefix, topic: partition.topic)
            + "partition=\(partition.partition)/\(partition.topic)+\(partition.partition)+\(ObjectKey.zeroPadded(from)).json"
    }

    /// The loss record's body: one JSON object.
    public var json: String {
        let object: [String: Any] = [
            "topic": partition.topic, "partition": Int(partition.partition), "from": from, "to": to, "count": count,
            "detected_at": ISO8601DateFormatter().string(from: detectedAt), "reason": reason, "policy": policy.rawValue,
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// Reads a loss record's body back; nil when it is not one.
    public static func parse(_ body: [UInt8]) -> DataLoss? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
              let topic = object["topic"] as? String, let partition = (object["partition"] as? NSNumber)?.int32Value,
              let from = (object["from"] as? NSNumber)?.int64Value, let to = (object["to"] as? NSNumber)?.int64Value,
              from <= to
        else { return nil }
        let detected = (object["detected_at"] as? String).flatMap { ISO8601DateFormatter().date(from: $0) } ?? Date(timeIntervalSince1970: 0)
        return DataLoss(partition: KafkaTopicPartition(topic: topic, partition: partition), from: from, to: to,
                        detectedAt: detected, reason: object["reason"] as? String ?? "",
                        policy: (object["policy"] as? String).flatMap(DataLossPolicy.init(rawValue:)) ?? .stop)
    }
}

/// The pipeline stopped because records were lost (`kafka.on_data_loss: stop`) or a position cannot be trusted.
public struct DataLossError: Error, CustomStringConvertible, RetriableError {
    public var message: String
    public var isRetriable: Bool { false }
    /// `pinpipe run`'s exit status for it; the unit's `RestartPreventExitStatus=` keeps systemd from restarting
    /// into the same loss.
    public static let exitStatus: Int32 = 4

    public init(_ loss: DataLoss) {
        message = "data loss: \(loss). The loss record is in S3 and `pinpipe verify` reports it. "
            + "To go on from the oldest retained record, set kafka.on_data_loss: record and restart."
    }

    public init(message: String) { self.message = message }

    public var description: String { message }
}
