import Kafka
import Logging
import Synchronization
import Systemd

/// The topic consumer actor: polls the consumer group on librdkafka's thread and hands records to the sink
/// through a bounded channel. While the channel is full it pauses its partitions and keeps polling, so the
/// group never thinks it died; it resumes them once the sink caught up.
public final class TopicConsumer: Sendable {
    let consumer: KafkaConsumer
    let stats: PipelineStats
    let heartbeats: Heartbeats
    let shutdown: ShutdownSignal
    let hooks: TestHooks
    let logger: Logger
    /// Bumped by the rebalance callback; records carry the epoch they were polled in.
    let epoch: AssignmentEpoch
    static let actorName = "consumer"

    public init(consumer: KafkaConsumer, epoch: AssignmentEpoch, stats: PipelineStats, heartbeats: Heartbeats,
                shutdown: ShutdownSignal, hooks: TestHooks, logger: Logger) {
        self.consumer = consumer
        self.epoch = epoch
        self.stats = stats
        self.heartbeats = heartbeats
        self.shutdown = shutdown
        self.hooks = hooks
        self.logger = logger
    }

    /// Polls until shutdown (or, with `stopWhenCaughtUp`, until every assigned partition has no lag), sending
    /// into `channel`. Finishes the channel when done.
    public func run(into channel: BoundedChannel<SinkInput>, stopWhenCaughtUp: (@Sendable () -> Bool)? = nil) async throws {
        heartbeats.register(Self.actorName)
        defer {
            heartbeats.unregister(Self.actorName)
            channel.finish()
        }
        let started = ContinuousClock.now
        var paused: [KafkaTopicPartition] = []
        var lastLagReport = ContinuousClock.now
        var idlePolls = 0
        var handedOver: [KafkaTopicPartition: Int64] = [:]
        while !shutdown.isTriggered {
            heartbeats.beat(Self.actorName)
            await hooks.hangIfRequested(actor: Self.actorName, startedAt: started)
            if !paused.isEmpty, !channel.isFull {
                try? consumer.resume(paused)
                logger.debug("Sink caught up; partitions resumed", metadata: ["partitions": "\(paused.count)"])
                paused = []
            }
            // While paused, poll briefly so the partitions resume soon after the sink drained below the low
            // watermark (a long poll here stalled the pipeline for its whole timeout at every pause).
            let messages = try await consumer.poll(timeout: paused.isEmpty ? .milliseconds(200) : .milliseconds(10))
            let current = epoch.current
            if ContinuousClock.now - lastLagReport > .seconds(2) {
                lastLagReport = .now
                let lag = consumer.lag()
                stats.setLag(lag.isEmpty ? nil : lag.values.reduce(0, +))
            }
            if messages.isEmpty {
                idlePolls += 1
                if let stopWhenCaughtUp, idlePolls >= 3, stopWhenCaughtUp(), await caughtUp(handedOver) { break }
                continue
            }
            idlePolls = 0
            for message in messages { handedOver[message.topicPartition] = message.offset + 1 }
            if !channel.trySend(SinkInput(messages: messages, epoch: current)) {
                // Full: the batch is queued anyway (bounded by one poll), but stop fetching until the sink drains.
                let assignment = consumer.assignment()
                if !assignment.isEmpty {
                    try? consumer.pause(assignment)
                    paused = assignment
                    logger.debug("Sink behind; partitions paused", metadata: ["partitions": "\(assignment.count)"])
                }
            }
        }
    }

    /// True when every assigned partition's high watermark was handed to the sink (or committed before).
    private func caughtUp(_ handedOver: [KafkaTopicPartition: Int64]) async -> Bool {
        let assignment = consumer.assignment()
        guard !assignment.isEmpty else { return false }
        do {
            let unseen = assignment.filter { handedOver[$0] == nil }
            let committed = try await consumer.committed(unseen, timeout: .seconds(5))
            for partition in assignment {
                let high = try await consumer.watermarks(partition, timeout: .seconds(5)).high
                let reached = handedOver[partition] ?? committed[partition] ?? 0
                if reached < high { return false }
            }
            return true
        } catch {
            logger.debug("Cannot tell whether the consumer caught up yet: \(error)")
            return false
        }
    }
}
