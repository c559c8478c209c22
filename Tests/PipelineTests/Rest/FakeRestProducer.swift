import Kafka
@testable import Pipeline
import Synchronization

/// A producer for the REST tests: records what it was given, and acknowledges (or fails, or holds) each record.
final class FakeRestProducer: RestProducerPort {
    enum Mode: Sendable {
        /// Acknowledge at once, offsets counting up per partition.
        case acknowledge
        /// Never acknowledge until `releaseHeld()` (a broker that stopped answering).
        case hold
        /// Fail the records whose value is this text.
        case failValue(String, KafkaError)
    }

    struct Produced: Sendable, Equatable {
        var topic: String
        var partition: Int32?
        var key: [UInt8]?
        var value: [UInt8]?
    }

    let topics: [String: KafkaTopicMetadata]
    private let mode: Mode
    private let state = Mutex<(produced: [Produced], next: [String: Int64],
                               held: [@Sendable (Result<KafkaDeliveryReport, KafkaError>) -> Void])>(([], [:], []))

    init(topics: [String: Int], mode: Mode = .acknowledge) {
        self.topics = topics.reduce(into: [:]) { result, entry in
            result[entry.key] = KafkaTopicMetadata(name: entry.key, partitions: (0..<Int32(entry.value)).map {
                KafkaTopicMetadata.Partition(id: $0, leader: 1, replicas: [1], inSyncReplicas: [1])
            })
        }
        self.mode = mode
    }

    var produced: [Produced] { state.withLock { $0.produced } }

    func produce(topic: String, partition: Int32?, key: [UInt8]?, value: [UInt8]?,
                 onDelivery: @escaping @Sendable (Result<KafkaDeliveryReport, KafkaError>) -> Void)
        async throws(KafkaError)
    {
        let record = Produced(topic: topic, partition: partition, key: key, value: value)
        let report: KafkaDeliveryReport? = state.withLock { state in
            state.produced.append(record)
            if case .hold = mode {
                state.held.append(onDelivery)
                return nil
            }
            let p = partition ?? 0
            let where_ = "\(topic)/\(p)"
            let offset = state.next[where_, default: 0]
            state.next[where_] = offset + 1
            return KafkaDeliveryReport(topic: topic, partition: p, offset: offset)
        }
        guard let report else { return }
        if case .failValue(let text, let error) = mode, value == Array(text.utf8) {
            onDelivery(.failure(error))
        } else {
            onDelivery(.success(report))
        }
    }

    func releaseHeld() {
        let held = state.withLock { state in
            defer { state.held.removeAll() }
            return state.held
        }
        for (index, callback) in held.enumerated() {
            callback(.success(KafkaDeliveryReport(topic: "t", partition: 0, offset: Int64(index))))
        }
    }

    func clusterTopics(timeout: Duration) async throws(KafkaError) -> [String: KafkaTopicMetadata] { topics }
}
