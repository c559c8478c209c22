import Foundation
import Kafka
import Logging
import PipelineConfig
import Postgres
import Systemd
import Testing

@testable import Pipeline

/// The offsets topic round trip on an in-process mock cluster: positions written in transactions are read back
/// (latest wins) and take precedence over the local checkpoint file; an aborted transaction rewinds readers.
@Suite struct OffsetsTopicTests {
    let logger: Logger = {
        var logger = Logger(label: "offsets-test")
        logger.logLevel = .error
        return logger
    }()

    struct Fixture {
        let cluster: KafkaMockCluster
        let producer: KafkaProducer
        let source: SourceProducer
        let configuration: PinpipeConfiguration
        let liveness: ActorLiveness
    }

    func fixture(prefix: String, stateDirectory: String) async throws -> Fixture {
        let cluster = try KafkaMockCluster(brokers: 1, logger: logger)
        var configuration = PinpipeConfiguration(roles: [.produce], stateDirectory: stateDirectory)
        configuration.kafka.bootstrapServers = cluster.bootstrapServers
        configuration.kafka.topicPrefix = prefix
        try cluster.createTopic(configuration.kafka.offsetsTopic, partitions: 1, replicationFactor: 1)
        let producer = try KafkaProducer(
            configuration: .init(bootstrapServers: cluster.bootstrapServers,
                                 transactionalID: configuration.kafka.effectiveTransactionalID), logger: logger)
        try await producer.initTransactions(timeout: .seconds(30))
        let heartbeats = Heartbeats()
        let source = SourceProducer(
            configuration: configuration,
            database: PostgresConnectionParameters(host: "127.0.0.1", port: 1, user: "unused", password: "",
                                                   database: "unused"),
            producer: producer, once: true, context: ActorContext(heartbeats: heartbeats, logger: logger))
        return Fixture(cluster: cluster, producer: producer, source: source, configuration: configuration,
                       liveness: ActorLiveness(heartbeats: heartbeats, name: "source"))
    }

    func coordinator(_ f: Fixture, committed: [String: SourcePosition] = [:]) -> TransactionCoordinator {
        TransactionCoordinator(producer: f.producer, offsetsTopic: f.configuration.kafka.offsetsTopic,
                               settings: TransactionLimits(maxRecords: 1000, maxInterval: .milliseconds(100)),
                               committed: committed, liveness: f.liveness, logger: logger)
    }

    func snapshot(_ key: Int64) -> SourcePosition { SourcePosition(mode: "snapshot", key: key) }

    @Test func positionsCommittedInTransactionsAreReadBackAndBeatTheCheckpointFile() async throws {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("offsets-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: state) }
        let f = try await fixture(prefix: "rt\(UInt16.random(in: 0...9999))", stateDirectory: state)
        defer { f.cluster.shutdown() }
        // A stale file (an older run at-least-once): the topic's newer positions win; a table the topic lacks
        // falls back to the file.
        try CheckpointStore(stateDirectory: state, topicPrefix: f.configuration.kafka.topicPrefix)
            .save(["pin": 5, "user": 77])
        let first = coordinator(f)
        try f.producer.beginTransaction()
        let committer = Task { try await first.run() }
        for key in Int64(1)...3 {
            try await first.admit(generation: 0)
            first.release(table: "pin", position: snapshot(key * 10))
        }
        try await first.waitUntilCommitted(generation: 0)
        try await first.admit(generation: 0)
        first.release(positions: ["pin": snapshot(40), "geo": snapshot(9)])
        first.requestStop()
        try await committer.value
        #expect(first.commits.load(ordering: .relaxed) == 2)
        #expect(first.committed == ["pin": SourcePosition(mode: "snapshot", key: 40, commit: 2),
                                    "geo": SourcePosition(mode: "snapshot", key: 9, commit: 2)])
        let positions = try await f.source.loadPositions()
        #expect(positions["pin"] == SourcePosition(mode: "snapshot", key: 40, commit: 2))
        #expect(positions["geo"] == SourcePosition(mode: "snapshot", key: 9, commit: 2))
        #expect(positions["user"] == SourcePosition(mode: "snapshot", key: 77))
        await f.producer.shutdown(timeout: .seconds(5))
    }

    @Test func anAbortRewindsTheReadersAndKeepsTheCommittedPositions() async throws {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("offsets-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: state) }
        let f = try await fixture(prefix: "ab\(UInt16.random(in: 0...9999))", stateDirectory: state)
        defer { f.cluster.shutdown() }
        let coordinator = coordinator(f, committed: ["pin": SourcePosition(mode: "snapshot", key: 100, commit: 7)])
        try f.producer.beginTransaction()
        let committer = Task { try await coordinator.run() }
        try await coordinator.admit(generation: 0)
        coordinator.release(table: "pin", position: snapshot(150))
        // A row of the same transaction could not be produced: the transaction is aborted, not committed.
        try await coordinator.admit(generation: 0)
        await #expect(throws: TransactionRewind.self) {
            coordinator.release(table: "pin", position: nil)
            try await coordinator.waitForRewind(generation: 0)
        }
        #expect(coordinator.generation == 1)
        #expect(coordinator.aborts.load(ordering: .relaxed) == 1 && coordinator.commits.load(ordering: .relaxed) == 0)
        #expect(coordinator.committed["pin"]?.key == 100)
        await #expect(throws: TransactionRewind.self) { try await coordinator.admit(generation: 0) }
        // The next generation commits, numbered after the last commit read back.
        try await coordinator.admit(generation: 1)
        coordinator.release(table: "pin", position: snapshot(120))
        coordinator.requestStop()
        try await committer.value
        #expect(coordinator.committed["pin"] == SourcePosition(mode: "snapshot", key: 120, commit: 8))
        #expect(try await f.source.loadPositions()["pin"]?.key == 120)
        await f.producer.shutdown(timeout: .seconds(5))
    }
}
