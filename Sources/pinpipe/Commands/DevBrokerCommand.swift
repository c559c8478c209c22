import ArgumentParser
import Foundation
import Kafka
import Logging
import ServiceLifecycle

/// `pinpipe dev-broker`: librdkafka's mock Kafka cluster in this process, on loopback, until SIGTERM/SIGINT.
struct DevBrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-broker",
        abstract: "Runs an in-memory Kafka cluster (librdkafka's mock brokers) on 127.0.0.1 for development and tests.",
        discussion: """
            Prints "bootstrap: <host:port,...>" once the brokers listen and the topics exist (and writes the \
            list to --bootstrap-file), then runs until SIGTERM or SIGINT. Unknown topics are auto-created with 4 \
            partitions. Debian's librdkafka keeps only 5 MiB / 100,000 message sets per partition; for benchmark \
            volumes run with LD_LIBRARY_PATH set to the library built by deploy/bench/build-broker.sh.
            """)

    @Option(help: "Number of brokers.")
    var brokers: Int = 3

    @Option(help: "Partitions of each topic given with --topics.")
    var partitions: Int = 3

    @Option(help: "Comma-separated topics to create at start.")
    var topics: String = ""

    @Option(help: "Replication factor of the created topics (default: min(3, brokers)).")
    var replicationFactor: Int?

    @Option(help: "Write the bootstrap list to this file (atomically) once the cluster is ready.")
    var bootstrapFile: String?

    var topicNames: [String] {
        topics.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    func validate() throws {
        guard brokers >= 1 else { throw ValidationError("--brokers must be at least 1") }
        guard partitions >= 1 else { throw ValidationError("--partitions must be at least 1") }
        if let replicationFactor, !(1...brokers).contains(replicationFactor) {
            throw ValidationError("--replication-factor must be between 1 and --brokers (\(brokers))")
        }
    }

    func run() async throws {
        let logger = Logger(label: "pinpipe.dev-broker")
        try KafkaLibrary.checkMinimumVersion()
        logger.info("librdkafka \(KafkaLibrary.version)")
        let cluster = try KafkaMockCluster(brokers: brokers, logger: logger)
        let replication = replicationFactor ?? min(3, brokers)
        for topic in topicNames {
            try cluster.createTopic(topic, partitions: partitions, replicationFactor: replication)
        }
        logger.info(
            "mock cluster ready",
            metadata: ["topics": "\(topicNames.joined(separator: ","))", "partitions": "\(partitions)"])
        print("bootstrap: \(cluster.bootstrapServers)")
        fflush(nil)
        if let bootstrapFile {
            try writeAtomically(cluster.bootstrapServers + "\n", to: bootstrapFile)
        }
        let group = ServiceGroup(
            services: [Broker(cluster: cluster)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
        if let bootstrapFile { try? FileManager.default.removeItem(atPath: bootstrapFile) }
        logger.info("dev-broker stopped")
    }

    private func writeAtomically(_ text: String, to path: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        try text.write(toFile: temporary, atomically: false, encoding: .utf8)
        guard rename(temporary, path) == 0 else {
            throw ValidationError("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Keeps the cluster up until the service group's graceful shutdown (SIGTERM/SIGINT), then stops it.
    struct Broker: Service {
        let cluster: KafkaMockCluster

        func run() async throws {
            try? await gracefulShutdown()
            cluster.shutdown()
        }
    }
}
