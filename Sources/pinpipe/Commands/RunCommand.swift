import ArgumentParser
import Foundation
import Kafka
import Logging
import Pipeline
import PipelineConfig
import Postgres
import ServiceLifecycle
import Synchronization

/// `pinpipe run`: the daemon (what systemd starts).
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Runs the pipeline for the configured roles until SIGTERM/SIGINT.")

    @Option(name: .shortAndLong, help: "Configuration file.")
    var config: String = "/etc/pinpipe/pinpipe.yaml"

    @Flag(help: "Exit 0 when the source is done (snapshot read or emulation limit reached) and the sink caught up.")
    var once = false

    @Flag(help: "Forget the source checkpoint and start from the first row.")
    var fromScratch = false

    func run() async throws {
        Bootstrap.tuneAllocator()
        let configuration = try Bootstrap.loadConfiguration(config)
        Bootstrap.logging(configuration.logging)
        let logger = Logger(label: "pinpipe")
        try Bootstrap.checkLibraries(logger: logger)
        if fromScratch {
            try CheckpointStore(stateDirectory: configuration.stateDirectory, topicPrefix: configuration.kafka.topicPrefix)
                .remove()
        }
        let observabilityBox = Mutex<ObservabilityService?>(nil)
        let runtime = PipelineRuntime(configuration: configuration, environment: ProcessInfo.processInfo.environment,
                                      once: once, logger: logger, restVersion: Pinpipe.version,
                                      onReady: { observabilityBox.withLock { $0 }?.markReady() })
        let observability = ObservabilityService(
            listen: configuration.metrics.listen, stats: runtime.pipelineStats, heartbeats: runtime.actorHeartbeats,
            staleAfter: runtime.staleThreshold, isDraining: { [runtime] in runtime.isDraining },
            buildInfo: [("version", Pinpipe.version), ("librdkafka", KafkaLibrary.version),
                        ("libpq", "\(PostgresLibrary.version)")],
            logger: logger)
        observabilityBox.withLock { $0 = observability }
        let group = ServiceGroup(configuration: .init(
            services: [
                // First, so it stops last: /metrics and /healthz stay up through the drain.
                .init(service: observability, successTerminationBehavior: .ignore, failureTerminationBehavior: .ignore),
                .init(service: ReloadService(configFile: config, logger: logger), successTerminationBehavior: .ignore),
                .init(service: runtime, successTerminationBehavior: .gracefullyShutdownGroup),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch let error as DataLossError {
            logger.critical("pinpipe stopped: \(error)")
            throw ExitCode(DataLossError.exitStatus)
        } catch {
            logger.critical("pinpipe stopped with an error: \(error)")
            throw ExitCode.failure
        }
    }
}
