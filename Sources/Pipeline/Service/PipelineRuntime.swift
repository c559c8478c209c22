import AsyncHTTPClient
import Kafka
import Logging
import PipelineConfig
import Postgres
import S3
import ServiceLifecycle
import Synchronization
import Systemd

/// Wires the actors for the configured roles and runs them until done or asked to stop.
///
/// Start-up: every dependency of the configured roles is checked (PostgreSQL and its tables, Kafka metadata and
/// topics, the S3 bucket) before READY=1. Shutdown (SIGTERM/SIGINT, `--once` completion or a failing actor):
/// STOPPING=1 at once, then stop reading the database, flush the producer, upload and commit every open batch,
/// close the consumer (leaving the group); a failing actor's error is rethrown afterwards (exit non-zero).
public final class PipelineRuntime: Service {
    let configuration: PinpipeConfiguration
    let environment: [String: String]
    let once: Bool
    let logger: Logger
    let stats = PipelineStats()
    let heartbeats = Heartbeats()
    let shutdown = ShutdownSignal()
    let hooks: TestHooks
    /// Called with a one-line summary once READY=1 was sent (tests and the demo print it).
    let onReady: @Sendable () -> Void

    public init(configuration: PinpipeConfiguration, environment: [String: String], once: Bool, logger: Logger,
                onReady: @escaping @Sendable () -> Void = {}) {
        self.configuration = configuration
        self.environment = environment
        self.once = once
        self.logger = logger
        self.hooks = TestHooks(environment: environment)
        self.onReady = onReady
    }

    var roleNames: Set<String> { Set(configuration.roles.map(\.rawValue)) }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await runPipeline()
        } onGracefulShutdown: {
            SystemdNotifier.notify([.stopping, .status("draining: \(self.stats.statusLine(roles: self.roleNames))")])
            self.logger.notice("Shutdown requested; draining")
            self.shutdown.trigger()
        }
    }

    private func runPipeline() async throws {
        SystemdNotifier.notify([.status("starting: checking dependencies")])
        let dependencies = try await StartupChecks(configuration: configuration, environment: environment,
                                                   logger: logger).run()
        let epoch = AssignmentEpoch()
        var consumer: KafkaConsumer?
        if configuration.roles.contains(.sink) {
            var consumerConfiguration = KafkaConsumerConfiguration(
                bootstrapServers: configuration.kafka.bootstrapServers, groupID: configuration.kafka.groupID,
                topics: configuration.topics, properties: configuration.kafka.effectiveConsumerProperties)
            // Revocations travel to the sink through the channel, behind the records (see SinkRevocation).
            consumerConfiguration.deferRevocations = true
            let log = logger
            let stats = stats
            consumer = try KafkaConsumer(configuration: consumerConfiguration, logger: logger) { event in
                switch event {
                case .assigned(let partitions):
                    stats.recordRebalance(.assigned)
                    log.info("Partitions assigned", metadata: ["partitions": "\(partitions.map(\.description))"])
                case .revoked(let partitions):
                    stats.recordRebalance(.revoked)
                    epoch.advance()
                    log.info("Partitions revoked", metadata: ["partitions": "\(partitions.map(\.description))"])
                }
            }
        }
        let producer = dependencies.producer
        let sourceDone = ShutdownSignal()
        SystemdNotifier.notify([.ready, .status("running: \(stats.statusLine(roles: roleNames))")])
        logger.notice("pinpipe ready", metadata: ["roles": "\(roleNames.sorted())"])
        onReady()

        let errors = ActorErrors()
        let supervisor = WatchdogSupervisor(
            heartbeats: heartbeats, watchdogInterval: SystemdWatchdog.interval(),
            staleAfter: configuration.health.staleAfter, statusInterval: configuration.health.statusInterval,
            status: { [stats, roleNames, shutdown] in
                (shutdown.isTriggered ? "draining: " : "running: ") + stats.statusLine(roles: roleNames)
            }, logger: logger)
        // The supervisor and the timeout extender are child tasks: they end with the actors, never outlive them.
        await withTaskGroup(of: Void.self) { services in
        services.addTask { await supervisor.run() }
        services.addTask { await self.extendTimeoutWhileDraining() }
        await withTaskGroup(of: Void.self) { group in
            if let producer, configuration.roles.contains(.produce), let database = dependencies.database {
                let source = SourceProducer(configuration: configuration, database: database, producer: producer,
                                            stats: stats, heartbeats: heartbeats, shutdown: shutdown, hooks: hooks,
                                            once: once, logger: logger.with(actor: "source"))
                group.addTask {
                    defer { sourceDone.trigger() }
                    await self.guarded(errors) {
                        try await source.run()
                        if self.once && !self.configuration.roles.contains(.sink) { self.shutdown.trigger() }
                    }
                }
            } else {
                sourceDone.trigger()
            }
            if let consumer, let s3 = dependencies.s3 {
                let sink = makeSink(s3: s3, consumer: consumer, deadLetterProducer: dependencies.deadLetterProducer)
                addSinkTasks(to: &group, sink: sink, consumer: consumer, epoch: epoch, sourceDone: sourceDone,
                             errors: errors)
            }
        }
        services.cancelAll()
        }
        let firstError = errors.first
        if let consumer {
            await consumer.close()
            logger.info("Consumer closed (left the group)")
        }
        if let producer = dependencies.producer { await producer.shutdown(timeout: .seconds(60)) }
        if let dead = dependencies.deadLetterProducer { await dead.shutdown(timeout: .seconds(30)) }
        if let s3 = dependencies.s3 { await s3.shutdown() }
        logger.notice("pinpipe drained and stopped", metadata: ["status": "\(stats.statusLine(roles: roleNames))"])
        if let firstError { throw firstError }
    }
}

extension PipelineRuntime {
    /// Runs one actor; its error shuts the others down gracefully and is kept for the exit status.
    func guarded(_ errors: ActorErrors, _ body: () async throws -> Void) async {
        do {
            try await body()
        } catch {
            if errors.record(error) {
                stats.recordError("\(error)")
                logger.error("An actor failed; shutting the pipeline down gracefully: \(error)")
            }
            shutdown.trigger()
        }
    }

    func addSinkTasks(to group: inout TaskGroup<Void>, sink: S3Sink, consumer: KafkaConsumer, epoch: AssignmentEpoch,
                      sourceDone: ShutdownSignal, errors: ActorErrors) {
        let topicConsumer = TopicConsumer(consumer: consumer, epoch: epoch, stats: stats, heartbeats: heartbeats,
                                          shutdown: shutdown, hooks: hooks, logger: logger.with(actor: "consumer"),
                                          onDataLoss: configuration.kafka.onDataLoss,
                                          joinTimeout: configuration.kafka.joinTimeout)
        let stopWhenCaughtUp: (@Sendable () -> Bool)? = once ? { @Sendable in sourceDone.isTriggered } : nil
        let (channel, elements) = BoundedChannel<SinkInput>.make(
            low: max(1, configuration.s3.channelCapacity / 2), high: configuration.s3.channelCapacity,
            weight: { (input: borrowing SinkInput) -> Int in input.records.count })
        group.addTask {
            await self.guarded(errors) {
                try await topicConsumer.run(into: channel, stopWhenCaughtUp: stopWhenCaughtUp)
            }
        }
        group.addTask {
            await self.guarded(errors) { try await sink.run(input: elements) }
        }
    }

    func makeSink(s3: S3Client, consumer: KafkaConsumer, deadLetterProducer: KafkaProducer?) -> S3Sink {
        let deadLetter: any DeadLetterWriter
        switch configuration.s3.deadLetter {
        case .s3Prefix(let prefix):
            deadLetter = S3DeadLetterWriter(client: s3, bucket: configuration.s3.bucket, prefix: prefix)
        case .kafkaTopic(let topic):
            deadLetter = KafkaDeadLetterWriter(producer: deadLetterProducer!, topic: topic)
        }
        return S3Sink(
            settings: configuration.s3, objectStore: S3ObjectStore(client: s3, bucket: configuration.s3.bucket),
            committer: KafkaOffsetCommitter(consumer: consumer), deadLetter: deadLetter, stats: stats,
            heartbeats: heartbeats, hooks: hooks, logger: logger.with(actor: "sink"),
            onFatal: { [shutdown] in shutdown.trigger() })
    }

    /// The drain may need longer than TimeoutStopSec: keep extending it while it makes progress.
    func extendTimeoutWhileDraining() async {
        await shutdown.wait()
        var last = -1.0
        while !Task.isCancelled {
            let progress = stats.drainProgress
            if progress != last {
                SystemdNotifier.notify([.extendTimeout(.seconds(30))])
                last = progress
            }
            do { try await heartbeats.clock.sleep(for: .seconds(10)) } catch { return }
        }
    }
}

/// The errors of failed actors; the first one becomes the exit status.
final class ActorErrors: Sendable {
    private let list = Mutex<[any Error]>([])

    /// Returns true for the first error.
    func record(_ error: any Error) -> Bool {
        list.withLock { list in
            list.append(error)
            return list.count == 1
        }
    }

    var first: (any Error)? { list.withLock { $0.first } }
}

extension Logger {
    func with(actor: String) -> Logger {
        var copy = self
        copy[metadataKey: LogKey.actor] = "\(actor)"
        return copy
    }
}
