import Kafka
import Foundation
import Logging
import PipelineConfig
import Synchronization
import Support
import Systemd

/// The topic consumer actor: polls the consumer group on librdkafka's thread and hands records to the sink
/// through a bounded channel. While the channel is full it pauses its partitions and keeps polling, so the
/// group never thinks it died; it resumes them once the sink caught up.
public final class TopicConsumer: Sendable {
    /// The group member this actor owns: created here with its rebalance callback, closed by ``close()``.
    public let consumer: KafkaConsumer
    let context: ActorContext
    var stats: PipelineStats { context.stats }
    var heartbeats: Heartbeats { context.heartbeats }
    var shutdown: ShutdownSignal { context.shutdown }
    var hooks: TestHooks { context.hooks }
    var logger: Logger { context.logger }
    /// Bumped by the rebalance callback; records carry the epoch they were polled in.
    let epoch: AssignmentEpoch
    /// How long the consumer stops polling for a full channel before it pauses its partitions instead.
    let pauseAfter: Duration
    /// What happens after records were lost (`kafka.on_data_loss`).
    let onDataLoss: DataLossPolicy
    /// How long to wait for the group to assign partitions before logging an error and joining again.
    let joinTimeout: Duration
    /// Per partition, the offset below which out-of-range reports are already handled: librdkafka may report one
    /// position twice (two fetches in flight met it).
    private let handledResets = Mutex<[KafkaTopicPartition: Int64]>([:])
    static let actorName = "consumer"

    /// Joins the group (`configuration.topics`) with a consumer whose rebalance callback counts the rebalances,
    /// logs them and advances the assignment epoch on each revocation; revocations travel to the sink through the
    /// channel (`deferRevocations` is set here). `onRebalance` is told too (tests observe the group with it).
    public init(configuration: KafkaConsumerConfiguration, context: ActorContext, pauseAfter: Duration = .seconds(1),
                onDataLoss: DataLossPolicy = .stop, joinTimeout: Duration = .seconds(60),
                onRebalance: (@Sendable (KafkaRebalanceEvent) -> Void)? = nil) throws(KafkaError) {
        var configuration = configuration
        configuration.deferRevocations = true
        configuration.readsHeaders = false  // the sink stores values only
        let epoch = AssignmentEpoch()
        let (stats, log) = (context.stats, context.logger)
        self.consumer = try KafkaConsumer(configuration: configuration, logger: context.logger) { event in
            switch event {
            case .assigned(let partitions):
                stats.recordRebalance(.assigned)
                log.info("Partitions assigned", metadata: ["partitions": "\(partitions.map(\.description))"])
            case .revoked(let partitions):
                stats.recordRebalance(.revoked)
                epoch.advance()
                log.info("Partitions revoked", metadata: ["partitions": "\(partitions.map(\.description))"])
            }
            onRebalance?(event)
        }
        self.epoch = epoch
        self.context = context
        self.pauseAfter = pauseAfter
        self.joinTimeout = joinTimeout
        self.onDataLoss = onDataLoss
    }

    /// Leaves the group and destroys the consumer (after the sink stored and committed what it had).
    public func close() async {
        await consumer.close()
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
        defer { logger.debug("Consumer finished", metadata: ["kafka.fetcher_wakeups": "\(consumer.fetcherWakeups)"]) }
        var reportedWaiting = false
        var revocations: [SinkRevocation] = []
        while !shutdown.isTriggered {
            heartbeats.beat(Self.actorName)
            await hooks.hangIfRequested(actor: Self.actorName, startedAt: started)
            try await completeSettled(&revocations)
            if revocations.isEmpty {
                reportedWaiting = try await checkAssignmentWait(reportedWaiting: reportedWaiting)
            }
            let shutdown = self.shutdown
            if channel.isFull, paused.isEmpty {
                // The sink is behind. Not polling is the cheap backpressure: librdkafka stops fetching once its
                // queue is full and keeps what it prefetched (pausing would throw that away). Only when the sink
                // stays behind longer (an S3 outage) pause the partitions and poll, so that the group keeps
                // hearing from us and rebalances are served.
                let room = await channel.waitUntilNotFull(timeout: pauseAfter, or: shutdown, clock: heartbeats.clock)
                if !room,
                   !shutdown.isTriggered {
                    paused = pauseAll()
                    stats.setPausedPartitions(paused.count)
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
                try await handleOffsetResets(into: channel)
                forwardRevocations(into: channel, pending: &revocations, handedOver: &handedOver, paused: &paused)
                _ = await channel.waitUntilNotFull(timeout: .milliseconds(500), or: shutdown,
                                                  clock: heartbeats.clock)
                continue
            }
            if !paused.isEmpty {
                try? consumer.resume(paused)
                logger.debug("Sink caught up; partitions resumed", metadata: ["partitions": "\(paused.count)"])
                paused = []
                stats.setPausedPartitions(0)
            }
            let records = try await consumer.pollRecords(timeout: .milliseconds(200))
            let current = epoch.current
            if records.isEmpty {
                try await handleOffsetResets(into: channel)
                forwardRevocations(into: channel, pending: &revocations, handedOver: &handedOver, paused: &paused)
            }
            if ContinuousClock.now - lastLagReport > .seconds(2) {
                lastLagReport = .now
                let lag = consumer.lag()
                stats.setLag(lag.map { (topic: $0.key.topic, partition: $0.key.partition, lag: $0.value) })
            }
            if records.isEmpty {
                idlePolls += 1
                // Every partition's end reported after its last record: done at once. Otherwise a few idle
                // polls, then the brokers are asked.
                if let stopWhenCaughtUp, idlePolls >= 3 || atEveryEnd(handedOver), stopWhenCaughtUp(),
                   await caughtUp(handedOver) {
                    stats.setCaughtUp(consumer.assignment().map { (topic: $0.topic, partition: $0.partition) })
                    break
                }
                continue
            }
            idlePolls = 0
            Self.noteHandedOver(records, in: &handedOver)
            // Always enqueued (bounded by one poll above the high watermark); a full channel is handled above.
            channel.trySend(SinkInput(records: records, epoch: current))
            try await handleOffsetResets(into: channel)
            forwardRevocations(into: channel, pending: &revocations, handedOver: &handedOver, paused: &paused)
            // Run once: stop as soon as the last records are handed over and every partition reported its end
            // after them (no broker round trip: see `EndOfLogCheck`). The end reports of the last records come
            // one fetch later, in the next poll, which returns at once when it meets them.
            if let stopWhenCaughtUp, records.count < consumer.maxPollRecords, stopWhenCaughtUp(),
               atEveryEnd(handedOver) {
                stats.setCaughtUp(consumer.assignment().map { (topic: $0.topic, partition: $0.partition) })
                break
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

    /// Sends the revocations the last poll met to the sink, behind the records of that poll (a revocation ends
    /// a poll), and keeps them until the sink settled them.
    func forwardRevocations(into channel: BoundedChannel<SinkInput>, pending: inout [SinkRevocation],
                            handedOver: inout [KafkaTopicPartition: Int64], paused: inout [KafkaTopicPartition]) {
        for revocation in consumer.takeRevocations() {
            let gone = Set(revocation.partitions)
            for partition in gone { handedOver[partition] = nil }
            paused.removeAll { gone.contains($0) }
            let event = SinkRevocation(revocation)
            pending.append(event)
            channel.trySend(SinkInput(records: KafkaRecordBatch(), epoch: epoch.current, revocation: event))
        }
    }

    /// Gives the partitions of settled revocations back to the group, in order (the member then rejoins). The
    /// loop keeps polling meanwhile, so librdkafka goes on serving the group while an upload finishes.
    func completeSettled(_ pending: inout [SinkRevocation]) async throws {
        while let first = pending.first, first.isSettled {
            pending.removeFirst()
            try await consumer.completeRevocation(first.kafka)
            logger.debug("Revoked partitions given back to the group",
                         metadata: ["partitions": "\(first.partitions.map(\.description))"])
        }
    }

    /// A member without an assignment is not idle, it is waiting for the group coordinator: shown in STATUS after
    /// a few seconds, and after `joinTimeout` logged as an error (naming the group) and answered by joining again
    /// with a new client (new connections, no JoinGroup left in flight), so that a join lost to a broker outage
    /// never turns into a silent hang. Returns whether STATUS shows it.
    func checkAssignmentWait(reportedWaiting: Bool) async throws -> Bool {
        guard let waiting = consumer.waitingForAssignment else {
            if reportedWaiting {
                stats.setOutage(nil)
                logger.info("Partitions assigned; the wait for the group is over")
            }
            return false
        }
        guard waiting >= .seconds(10) else { return reportedWaiting }
        let seconds = waiting.components.seconds
        stats.setOutage("Kafka: no partitions assigned by group \(consumer.groupID) for \(seconds) s")
        if waiting >= joinTimeout {
            logger.error("No partitions assigned for \(seconds) s: the group coordinator did not complete the join; joining the group again with a new client", metadata: [
                            "kafka.group": "\(consumer.groupID)", "kafka.join_timeout": "\(joinTimeout)"])
            stats.recordError("no partitions assigned by group \(consumer.groupID) for \(seconds) s; rejoined")
            try await consumer.rejoin()
        }
        return true
    }

    /// Partitions whose position fell out of the log (reported by the polls, after the records they handed
    /// over). Below the log start, retention deleted records nobody read: that is data loss, never skipped
    /// silently. It is logged as an error, counted, and sent to the sink behind the records that preceded it
    /// (the sink stores those, then the loss record); with `record` the partition moves on to the oldest retained
    /// record, with `stop` it stays where it is and the sink stops the pipeline.
    func handleOffsetResets(into channel: BoundedChannel<SinkInput>) async throws {
        let resets = consumer.takeOffsetResets()
        guard !resets.isEmpty else { return }
        var losses: [DataLoss] = []
        for reset in resets {
            if let handled = handledResets.withLock({ $0[reset.partition] }), reset.offset < handled {
                logger.debug("Out-of-range report already handled", metadata: [LogKey.offset: "\(reset.offset)"])
                continue
            }
            handledResets.withLock { $0[reset.partition] = reset.offset + 1 }
            let marks = try await watermarks(of: reset.partition)
            var metadata: Logger.Metadata = [
                LogKey.topic: "\(reset.partition.topic)", LogKey.partition: "\(reset.partition.partition)",
                LogKey.offset: "\(reset.offset)", "kafka.log_start": "\(marks.low)", "kafka.log_end": "\(marks.high)",
            ]
            if reset.offset < marks.low {
                let loss = DataLoss(partition: reset.partition, from: reset.offset, to: marks.low - 1, detectedAt: Date(),
                                    reason: reset.reason, policy: onDataLoss)
                stats.recordLoss(records: loss.count, topic: reset.partition.topic, partition: reset.partition.partition)
                stats.recordError("data loss in \(reset.partition.topic)[\(reset.partition.partition)]")
                metadata[LogKey.firstOffset] = "\(loss.from)"
                metadata[LogKey.lastOffset] = "\(loss.to)"
                metadata["pinpipe.on_data_loss"] = "\(onDataLoss.rawValue)"
                logger.error("DATA LOSS: \(loss); \(onDataLoss == .record ? "recording it and reading on from offset \(marks.low)" : "storing what came before, recording it, then stopping")",
                             metadata: metadata)
                losses.append(loss)
                if onDataLoss == .record {
                    // If retention deletes more before the fetch restarts, the restart meets another
                    // out-of-range position and that loss is recorded the same way.
                    try await consumer.restart(reset.partition, at: marks.low)
                }
            } else if reset.offset > marks.high {
                // The log ends below what the group already read: the topic was recreated or truncated. Reading
                // on would write new records over the keys of old objects.
                logger.error("The group's position is beyond the end of the log; stopping", metadata: metadata)
                throw DataLossError(message: "\(reset.partition.topic)[\(reset.partition.partition)]: the group's "
                    + "position \(reset.offset) is beyond the end of the log (\(marks.high)): the topic was recreated "
                    + "or truncated. Move the objects of the old topic away, reset the group's offsets, then restart.")
            } else {
                // Reported out of range, yet inside the log (a leader change raced the fetch). The partition
                // can only restart from a logical position, which would skip or repeat records: stop, and the
                // restart resumes from the committed offset.
                logger.error("Fetch position reported out of range although the log holds it; stopping", metadata: metadata)
                throw KafkaError(code: .init(rawValue: -1000 - 191), message: "\(reset): the log holds "
                                 + "\(marks.low)...\(marks.high - 1); restart to resume from the committed offset",
                                 topic: reset.partition.topic, partition: reset.partition.partition, isRetriable: false)
            }
        }
        if !losses.isEmpty { channel.trySend(SinkInput(records: KafkaRecordBatch(), epoch: epoch.current, losses: losses)) }
    }

    /// The partition's log start and end, retrying while the broker does not answer (beating meanwhile).
    private func watermarks(of partition: KafkaTopicPartition) async throws -> (low: Int64, high: Int64) {
        try await retryingQuery { try await self.consumer.watermarks(partition, timeout: .seconds(5)) }
    }

    private func retryingQuery<T>(_ query: () async throws -> T) async throws -> T {
        var backoff = Backoff(initial: .milliseconds(200), maximum: .seconds(2))
        while true {
            do {
                return try await query()
            } catch {
                guard (error as? KafkaError)?.isRetriable == true, !shutdown.isTriggered else { throw error }
                logger.warning("Cannot ask the broker about an out-of-range position yet: \(error)")
                heartbeats.beat(Self.actorName)
                try await heartbeats.clock.sleep(for: backoff.next())
                heartbeats.beat(Self.actorName)
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

    /// True when every assigned partition reported the end of its log after its last record handed over.
    private func atEveryEnd(_ handedOver: [KafkaTopicPartition: Int64]) -> Bool {
        EndOfLogCheck(assignment: consumer.assignment(), handedOver: handedOver, reachedEnds: consumer.reachedEnds())
            .everyPartitionAtItsEnd
    }

    /// True when every assigned partition's high watermark was handed to the sink (or committed before). The
    /// end-of-partition reports answer first (``EndOfLogCheck``); only without them are the brokers asked.
    private func caughtUp(_ handedOver: [KafkaTopicPartition: Int64]) async -> Bool {
        let assignment = consumer.assignment()
        guard !assignment.isEmpty else { return false }
        if atEveryEnd(handedOver) { return true }
        do {
            let unseen = assignment.filter { handedOver[$0] == nil }
            let committed = try await consumer.committed(unseen, timeout: .seconds(5))
            let highs = try await consumer.highWatermarks(assignment, timeout: .seconds(5))
            let ends = consumer.reachedEnds()
            for partition in assignment {
                guard let high = highs[partition] else { return false }
                // The end the fetcher reached counts: a transaction's commit marker follows the last record.
                let reached = max(handedOver[partition] ?? committed[partition] ?? 0, ends[partition] ?? 0)
                if reached < high { return false }
            }
            return true
        } catch {
            logger.debug("Cannot tell whether the consumer caught up yet: \(error)")
            return false
        }
    }
}
