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
    /// How long the consumer stops polling for a full channel before it pauses its partitions instead.
    let pauseAfter: Duration
    static let actorName = "consumer"

    public init(consumer: KafkaConsumer, epoch: AssignmentEpoch, stats: PipelineStats, heartbeats: Heartbeats,
                shutdown: ShutdownSignal, hooks: TestHooks, logger: Logger, pauseAfter: Duration = .seconds(1)) {
        self.pauseAfter = pauseAfter
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
        var lastWakeup = ContinuousClock.now
        var handedOver: [KafkaTopicPartition: Int64] = [:]
        defer { logger.debug("Consumer finished", metadata: ["kafka.fetcher_wakeups": "\(consumer.fetcherWakeups)"]) }
        while !shutdown.isTriggered {
            heartbeats.beat(Self.actorName)
            await hooks.hangIfRequested(actor: Self.actorName, startedAt: started)
            let shutdown = self.shutdown
            if channel.isFull, paused.isEmpty {
                // The sink is behind. Not polling is the cheap backpressure: librdkafka stops fetching once its
                // queue is full and keeps what it prefetched (pausing would throw that away). Only when the sink
                // stays behind longer (an S3 outage) pause the partitions and poll, so that the group keeps
                // hearing from us and rebalances are served.
                let room = await channel.waitUntilNotFull(timeout: pauseAfter, or: shutdown)
                if !room,
                   !shutdown.isTriggered {
                    paused = pauseAll()
                }
                continue
            }
            if channel.isFull {
                // Paused: poll briefly, then wait for room. A rebalance may have assigned partitions that are not
                // paused yet: what they delivered is handed over (one poll above the watermark) and they pause too.
                let records = try await consumer.pollRecords(timeout: .milliseconds(10))
                if !records.isEmpty {
                    Self.noteHandedOver(records, in: &handedOver)
                    channel.trySend(SinkInput(records: records, epoch: epoch.current))
                    paused = pauseAll()
                }
                _ = await channel.waitUntilNotFull(timeout: .milliseconds(500), or: shutdown)
                continue
            }
            if !paused.isEmpty {
                try? consumer.resume(paused)
                logger.debug("Sink caught up; partitions resumed", metadata: ["partitions": "\(paused.count)"])
                paused = []
            }
            let records = try await consumer.pollRecords(timeout: .milliseconds(200))
            let current = epoch.current
            if ContinuousClock.now - lastLagReport > .seconds(2) {
                lastLagReport = .now
                let lag = consumer.lag()
                stats.setLag(lag.isEmpty ? nil : lag.values.reduce(0, +))
            }
            if records.isEmpty {
                idlePolls += 1
                if let stopWhenCaughtUp, idlePolls >= 3, stopWhenCaughtUp(), await caughtUp(handedOver) {
                    stats.setLag(0)
                    break
                }
                continue
            }
            idlePolls = 0
            if records.count < consumer.maxPollRecords, ContinuousClock.now - lastWakeup > .milliseconds(20),
               consumer.lag().values.contains(where: { $0 > 0 }) {
                // The queue ran dry although the brokers hold more: librdkafka may be sitting out its fetch
                // backoff (see `wakeFetchers`).
                lastWakeup = .now
                consumer.wakeFetchers()
            }
            Self.noteHandedOver(records, in: &handedOver)
            // Always enqueued (bounded by one poll above the high watermark); a full channel is handled above.
            channel.trySend(SinkInput(records: records, epoch: current))
            // Run once: stop as soon as the last records are handed over (the cached watermarks say so and the
            // brokers confirm), rather than after a few empty polls.
            if let stopWhenCaughtUp, records.count < consumer.maxPollRecords, stopWhenCaughtUp() {
                let lag = consumer.lag()
                if lag.count == consumer.assignment().count, lag.values.allSatisfy({ $0 <= 0 }),
                   await caughtUp(handedOver) {
                    // Every record is handed over: the last periodic lag figure is stale.
                    stats.setLag(0)
                    break
                }
            }
        }
    }

    /// Records, per partition, the offset after the last record handed to the sink.
    static func noteHandedOver(_ batch: KafkaRecordBatch, in handedOver: inout [KafkaTopicPartition: Int64]) {
        let records = batch.records
        for index in records.indices {
            let next = index + 1
            if next == records.count || records[next].partition != records[index].partition
                || records[next].topicIndex != records[index].topicIndex {
                handedOver[batch.topicPartition(at: index)] = records[index].offset + 1
            }
        }
    }

    /// Pauses every assigned partition; returns them.
    private func pauseAll() -> [KafkaTopicPartition] {
        let assignment = consumer.assignment()
        guard !assignment.isEmpty else { return [] }
        try? consumer.pause(assignment)
        logger.debug("Sink behind; partitions paused", metadata: ["partitions": "\(assignment.count)"])
        return assignment
    }

    /// True when every assigned partition's high watermark was handed to the sink (or committed before).
    private func caughtUp(_ handedOver: [KafkaTopicPartition: Int64]) async -> Bool {
        let assignment = consumer.assignment()
        guard !assignment.isEmpty else { return false }
        do {
            let unseen = assignment.filter { handedOver[$0] == nil }
            let committed = try await consumer.committed(unseen, timeout: .seconds(5))
            let highs = try await consumer.highWatermarks(assignment, timeout: .seconds(5))
            for partition in assignment {
                guard let high = highs[partition] else { return false }
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
