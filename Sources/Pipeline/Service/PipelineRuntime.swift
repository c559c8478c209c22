import AsyncHTTPClient
import Kafka
import NIOCore
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
    /// The figures, heartbeats, logger, hooks and shutdown signal every actor shares.
    let context: ActorContext
    var stats: PipelineStats { context.stats }
    var heartbeats: Heartbeats { context.heartbeats }
    var shutdown: ShutdownSignal { context.shutdown }
    private let stoppingSent = Atomic<Bool>(false)
    /// Called with a one-line summary once READY=1 was sent (tests and the demo print it).
    let onReady: @Sendable () -> Void
    /// `GET /` of the REST endpoint reports it.
    let restVersion: String
    /// Where the REST endpoint listens, once it does (the real port when `rest.listen` asks for port 0).
    let restBound = Mutex<SocketAddress?>(nil)

    public init(configuration: PinpipeConfiguration, environment: [String: String], once: Bool, logger: Logger,
                restVersion: String = "unknown", onReady: @escaping @Sendable () -> Void = {}) {
        self.restVersion = restVersion
        self.configuration = configuration
        self.environment = environment
        self.once = once
        self.logger = logger
        self.context = ActorContext(logger: logger, hooks: TestHooks(environment: environment))
        self.onReady = onReady
    }

    var roleNames: Set<String> { Set(configuration.roles.map(\.rawValue)) }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await runPipeline()
        } onGracefulShutdown: {
            self.notifyStopping()
            self.logger.notice("Shutdown requested; draining")
            self.shutdown.trigger()
        }
    }

    /// STOPPING=1 (once) as the drain begins, whatever began it: a signal, `--once` completion or a failed actor.
    func notifyStopping() {
        guard !stoppingSent.exchange(true, ordering: .relaxed) else { return }
        SystemdNotifier.notify([.stopping, .status("draining: \(stats.statusLine(roles: roleNames))")])
    }

    private func runPipeline() async throws {
        SystemdNotifier.notify([.status("starting: checking dependencies")])
        let dependencies = try await StartupChecks(configuration: configuration, environment: environment,
                                                   logger: logger).run()
        var topicConsumer: TopicConsumer?
        if configuration.roles.contains(.sink) {
            // The topic consumer owns the group member and its rebalance callback.
            topicConsumer = try TopicConsumer(
                configuration: dependencies.kafka.consumerConfiguration(
                    groupID: configuration.kafka.groupID, topics: configuration.topics),
                context: context.with(actor: "consumer"), onDataLoss: configuration.kafka.onDataLoss,
                joinTimeout: configuration.kafka.joinTimeout)
        }
        let producer = dependencies.producer
        var rest: RestService?
        if let restProducer = dependencies.restProducer {
            let proxy = RestProxy(
                settings: configuration.rest,
                writableTopics: configuration.rest.writableTopics(pipelineTopics: configuration.topics),
                producer: restProducer, users: dependencies.restUsers, stats: stats,
                logger: logger.with(actor: "rest"), version: restVersion)
            let service = RestService(proxy: proxy, settings: configuration.rest, logger: logger.with(actor: "rest"))
            do {
                try await service.start()
            } catch {
                await restProducer.shutdown(timeout: .seconds(1))
                throw error
            }
            restBound.withLock { $0 = service.address }
            rest = service
        }
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
                let source = SourceProducer(configuration: configuration, kafka: dependencies.kafka,
                                            database: database, producer: producer,
                                            once: once, context: context.with(actor: "source"))
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
            if let rest {
                group.addTask {
                    await self.guarded(errors) { try await rest.run(until: self.shutdown, heartbeats: self.heartbeats) }
                }
            }
            if let topicConsumer, let s3 = dependencies.s3 {
                let sink = makeSink(s3: s3, consumer: topicConsumer.consumer,
                                    deadLetterProducer: dependencies.deadLetterProducer)
                addSinkTasks(to: &group, sink: sink, topicConsumer: topicConsumer, sourceDone: sourceDone,
                             errors: errors)
            }
        }
        services.cancelAll()
        }
        notifyStopping()  // the actors are done (`--once`, a failure): what follows is the drain
        let firstError = errors.first
        if let topicConsumer {
            await topicConsumer.close()
            logger.info("Consumer closed (left the group)")
        }
        if let producer = dependencies.producer { await producer.shutdown(timeout: .seconds(60)) }
        if let restProducer = dependencies.restProducer { await restProducer.shutdown(timeout: .seconds(30)) }
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

    func addSinkTasks(to group: inout TaskGroup<Void>, sink: S3Sink, topicConsumer: TopicConsumer,
                      sourceDone: ShutdownSignal, errors: ActorErrors) {
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
            committer: KafkaOffsetCommitter(consumer: consumer), deadLetter: deadLetter,
            context: context.with(actor: "sink"))
    }

    /// The drain may need longer than TimeoutStopSec: keep extending it while it makes progress.
    func extendTimeoutWhileDraining() async {
        await shutdown.wait()
        if Task.isCancelled { return }
        notifyStopping()
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
