import CRdKafka
import Logging
import Support
import Synchronization

/// A consumer-group member with explicit offset commits, eager rebalancing and a dedicated poll thread.
///
/// - Important: Call `close()` before dropping the last reference: it leaves the group and destroys the client.
///   A consumer dropped without it is destroyed by `deinit` (without leaving the group: the coordinator notices
///   at the session timeout), never leaked. Every job on its threads holds the consumer, so `deinit` only runs
///   when none is in flight.
public final class KafkaConsumer: Sendable {
    /// The current librdkafka client. ``rejoin()`` replaces it; code reads it where it uses it (inside the worker
    /// job, or under this lock for the quick local calls), never earlier, so a replaced client is destroyed only
    /// after every use of it has ended.
    let client: Mutex<RDKafkaHandle>
    let context: RDKafkaClientContext
    let state: ConsumerCallbackState
    let configuration: KafkaConsumerConfiguration
    let logger: Logger
    /// Runs `rd_kafka_consumer_poll` (and therefore the rebalance callback) and the final close.
    let pollWorker: BlockingExecutor
    /// Runs commits and broker queries, so they never need the poll thread (which may be inside a revocation).
    let queryWorker: BlockingExecutor
    /// Runs ``wakeFetchers(_:)`` requests, so they delay neither polls nor commits.
    let wakeupWorker: BlockingExecutor
    let wakeupRunning = AtomicFlag()
    let wakeups = Atomic<Int>(0)
    let closed = Atomic<Bool>(false)
    /// An error met after some records of a poll were already taken; thrown by the next poll.
    let deferredError = Mutex<KafkaError?>(nil)

    /// Creates the client and subscribes to `configuration.topics`. `onRebalance` is called synchronously on the
    /// poll thread BEFORE librdkafka applies an assignment change; for `.revoked` it may block while the
    /// application finishes (and commits, from another thread) its work on those partitions.
    public init(
        configuration: KafkaConsumerConfiguration, logger: Logger,
        onRebalance: (@Sendable (KafkaRebalanceEvent) -> Void)? = nil
    ) throws(KafkaError) {
        guard configuration.maxPollRecords > 0 else {
            throw KafkaError(code: .invalidConfiguration, message: "maxPollRecords must be positive", isRetriable: false)
        }
        guard !configuration.topics.isEmpty else {
            throw KafkaError(code: .invalidConfiguration, message: "no topics to consume", isRetriable: false)
        }
        let state = ConsumerCallbackState(onRebalance: onRebalance, deferRevocations: configuration.deferRevocations)
        let context = RDKafkaClientContext(
            logger: logger, bootstrapServers: configuration.bootstrapServers, consumer: state,
            oauthBearer: configuration.oauthBearer)
        let rk = try KafkaConsumer.makeSubscribedClient(configuration: configuration, context: context)
        self.client = Mutex(RDKafkaHandle(rk))
        self.context = context
        self.state = state
        self.configuration = configuration
        self.logger = logger
        self.pollWorker = BlockingExecutor(name: "kafka-poll")
        self.queryWorker = BlockingExecutor(name: "kafka-commit")
        self.wakeupWorker = BlockingExecutor(name: "kafka-wakeup")
        logger.info(
            "Kafka consumer subscribed",
            metadata: [
                "kafka.bootstrap": "\(configuration.bootstrapServers)", "kafka.group": "\(configuration.groupID)",
                "kafka.topics": "\(configuration.topics.joined(separator: ","))",
            ])
    }

    deinit {
        guard !closed.exchange(true, ordering: .sequentiallyConsistent) else { return }
        logger.warning("Kafka consumer dropped without close(); destroying its client without leaving the group",
                       metadata: ["kafka.group": "\(configuration.groupID)"])
        // The executors' own deinit lets their threads end; no job runs (each would hold `self`).
        rd_kafka_destroy_flags(client.withLock { $0 }.pointer, Int32(RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE))
        KafkaConsumer.destroyedInDeinit.add(1, ordering: .relaxed)
    }

    /// How many consumers `deinit` had to destroy (tests read it).
    static let destroyedInDeinit = Atomic<Int>(0)

    /// The current client (see ``client``).
    var handle: RDKafkaHandle { client.withLock { $0 } }

    /// Runs a quick, local librdkafka call on the current client while holding the lock that ``rejoin()`` takes
    /// to replace it.
    func withClient<R>(_ body: (OpaquePointer) -> R) -> R {
        client.withLock { handle in body(handle.pointer) }
    }

    /// A new client with the rebalance callback, subscribed to the configured topics.
    static func makeSubscribedClient(configuration: KafkaConsumerConfiguration, context: RDKafkaClientContext)
        throws(KafkaError) -> OpaquePointer
    {
        let rk = try RDKafkaConfiguration.makeClient(
            type: RD_KAFKA_CONSUMER, properties: configuration.librdkafkaProperties, context: context
        ) { conf in
            rd_kafka_conf_set_rebalance_cb(conf) { rk, err, partitions, opaque in
                guard let rk, let opaque else { return }
                let context = Unmanaged<RDKafkaClientContext>.fromOpaque(opaque).takeUnretainedValue()
                KafkaConsumer.rebalance(rk, err, partitions, context)
            }
        }
        rd_kafka_poll_set_consumer(rk)
        let topics = configuration.topics.map { KafkaTopicPartition(topic: $0, partition: RD_KAFKA_PARTITION_UA) }
        let list = RDKafkaPartitionList.make(topics)
        let err = rd_kafka_subscribe(rk, list)
        rd_kafka_topic_partition_list_destroy(list)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            rd_kafka_destroy(rk)
            throw KafkaError(err, handle: nil, context: "cannot subscribe to \(configuration.topics)")
        }
        return rk
    }

    /// Polls on the consumer's own thread; returns up to `maxPollRecords` records, possibly none after `timeout`.
    /// Informational errors (partition EOF, a broker down, a transient metadata error) are logged, not thrown.
    public func poll(timeout: Duration) async throws(KafkaError) -> [KafkaMessage] {
        try await pollRecords(timeout: timeout).messages
    }

    /// ``poll(timeout:)`` returning the records in one compact batch (no allocation per record).
    public func pollRecords(timeout: Duration) async throws(KafkaError) -> KafkaRecordBatch {
        guard !closed.load(ordering: .sequentiallyConsistent) else { throw .shutDown("poll") }
        if let pending = deferredError.withLock({ error in defer { error = nil }; return error }) { throw pending }
        let maxRecords = configuration.maxPollRecords
        let readsHeaders = configuration.readsHeaders
        let logger = logger
        let state = state
        let batch = await pollWorker.run { () -> PollBatch in
            KafkaConsumer.pollBatch(self.handle.pointer, timeout: timeout, maxRecords: maxRecords, state: state,
                                    readsHeaders: readsHeaders, logger: logger)
        }
        guard let batch else { throw .shutDown("poll") }
        if !batch.resets.isEmpty || !batch.ends.isEmpty {
            // Only for partitions still assigned: a rebalance may have run inside this poll.
            let assigned = state.assignment.withLock { $0 }
            let resets = batch.resets.filter { assigned.contains($0.partition) }
            if !resets.isEmpty { state.offsetResets.withLock { $0 += resets } }
            let ends = batch.ends.filter { assigned.contains($0.key) }
            if !ends.isEmpty { state.ends.withLock { $0.merge(ends) { max($0, $1) } } }
        }
        let lagging = FetchWakeupPolicy(lowWatermark: maxRecords).partitionsToWake(queued: batch.queued) { self.lag() }
        if !lagging.isEmpty { wakeFetchers(lagging) }
        if let error = batch.error {
            guard !batch.records.isEmpty else { throw error }
            deferredError.withLock { $0 = error }
        }
        return batch.records
    }


    /// The partitions whose position fell out of the log since the last call (they fetch nothing until a
    /// ``seek(_:to:)``), in the order the polls met them: after every record the polls returned before them.
    public func takeOffsetResets() -> [KafkaOffsetReset] {
        state.offsetResets.withLock { resets in defer { resets = [] }; return resets }
    }

    /// Per assigned partition, the offset at which the fetcher last reached the end of the log (the high
    /// watermark then, past any transaction marker). A reader whose handed-over records end just below it has
    /// read everything: the offsets between are markers or aborted records.
    public func reachedEnds() -> [KafkaTopicPartition: Int64] {
        state.ends.withLock { $0 }
    }

    /// Makes a partition that ``takeOffsetResets()`` reported fetch again, from `offset` (absolute). librdkafka
    /// refuses a seek for it, so the assignment is applied anew: every other partition at its current position
    /// (records fetched before and fetched again after are dropped, see `ConsumerCallbackState.nextExpected`).
    /// No record is skipped or returned twice.
    public func restart(_ partition: KafkaTopicPartition, at offset: Int64) async throws(KafkaError) {
        guard !closed.load(ordering: .sequentiallyConsistent) else { throw .shutDown("restart") }
        let state = state
        let result = await pollWorker.run { () -> KafkaError? in
            let rk = self.handle.pointer
            let err = KafkaConsumer.restartFetching(rk, [partition: offset], state: state)
            guard err != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
            return KafkaError(err, handle: rk, context: "cannot restart \(partition) at offset \(offset)")
        }
        guard let result else { throw .shutDown("restart") }
        if let error = result { throw error }
    }

    /// Revocations that the rebalance callback deferred (``KafkaConsumerConfiguration/deferRevocations``), in
    /// order, each after every record of its partitions that the polls returned.
    public func takeRevocations() -> [KafkaRevocation] {
        state.revocations.withLock { revocations in defer { revocations = [] }; return revocations }
    }

    /// Gives revoked partitions back to the group (librdkafka's unassign); the member then joins the next
    /// generation. Call it once the work on them is settled.
    public func completeRevocation(_ revocation: KafkaRevocation) async throws(KafkaError) {
        guard !closed.load(ordering: .sequentiallyConsistent) else { throw .shutDown("completeRevocation") }
        let state = state
        let result = await pollWorker.run { () -> KafkaError? in
            KafkaConsumer.unassign(self.handle.pointer, revocation, state: state)
        }
        guard let result else { throw .shutDown("completeRevocation") }
        if let error = result { throw error }
    }

    /// On the poll thread: applies a deferred revocation.
    static func unassign(_ rk: OpaquePointer, _ revocation: KafkaRevocation, state: ConsumerCallbackState)
        -> KafkaError?
    {
        var failure: KafkaError?
        if revocation.cooperative {
            let list = RDKafkaPartitionList.make(revocation.partitions)
            defer { rd_kafka_topic_partition_list_destroy(list) }
            if let error = rd_kafka_incremental_unassign(rk, list) {
                failure = KafkaError(consuming: error, context: "cannot give revoked partitions back")
            }
            state.forget(revocation.partitions)
        } else {
            let err = rd_kafka_assign(rk, nil)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                failure = KafkaError(err, handle: rk, context: "cannot give revoked partitions back")
            }
            state.forget(nil)
            state.waitingSince.withLock { $0 = $0 ?? .now }
        }
        state.revoking.withLock { $0.subtract(revocation.partitions) }
        return failure
    }

    /// The consumer group this member belongs to.
    public var groupID: String { configuration.groupID }

    /// How long this member has been waiting for the group to give it an assignment (after subscribing or a
    /// revocation); nil while it has one, even an empty one (a group with more members than partitions).
    public var waitingForAssignment: Duration? {
        state.waitingSince.withLock { $0 }.map { ContinuousClock.now - $0 }
    }

    /// Joins the group again with a new client, for a member that has waited too long for an assignment.
    ///
    /// Unsubscribing and subscribing is not enough: a JoinGroup that was in flight when the coordinator became
    /// unreachable holds the group state machine until its request timeout (`max.poll.interval.ms` + 3 s), and a
    /// coordinator that dropped the request (librdkafka's mock cluster does when the member's session expired
    /// while it was stopped) never answers on that connection again. A new client has new connections and no
    /// request in flight. The old one is destroyed without a consumer close (it has no assignment to give back),
    /// once every job that may still use it has ended.
    public func rejoin() async throws(KafkaError) {
        guard !closed.load(ordering: .sequentiallyConsistent) else { throw .shutDown("rejoin") }
        let fresh = try KafkaConsumer.makeSubscribedClient(configuration: configuration, context: context)
        state.waitingSince.withLock { $0 = .now }
        let old = client.withLock { current in
            defer { current = RDKafkaHandle(fresh) }
            return current
        }
        // Jobs read the client when they start: once each worker has run one more job, none uses the old one.
        _ = await queryWorker.run {}
        _ = await wakeupWorker.run {}
        let destroyed = await pollWorker.run(orIfShutDown: false) {
            rd_kafka_destroy_flags(old.pointer, Int32(RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE))
            return true
        }
        if !destroyed { rd_kafka_destroy_flags(old.pointer, Int32(RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE)) }
        state.revoking.withLock { $0.removeAll() }
        state.revocations.withLock { $0.removeAll() }
        logger.notice("Kafka consumer created anew to join the group again",
                      metadata: ["kafka.group": "\(configuration.groupID)"])
    }

    /// Stops fetching these partitions; the consumer stays in the group and `poll` keeps serving it.
    /// Pausing lasts until `resume` or until the partition is revoked: a (re)assigned partition starts unpaused.
    public func pause(_ partitions: [KafkaTopicPartition]) throws(KafkaError) {
        try pauseResume(partitions, pause: true)
    }

    /// Fetches these partitions again, from the position after the last record returned by `poll`.
    public func resume(_ partitions: [KafkaTopicPartition]) throws(KafkaError) {
        try pauseResume(partitions, pause: false)
    }

    /// Upper bound on the records one `poll` returns.
    public var maxPollRecords: Int { configuration.maxPollRecords }

    /// The partitions currently assigned to this member.
    public func assignment() -> [KafkaTopicPartition] { state.sortedAssignment }

    /// Synchronously commits the given NEXT offsets (last processed + 1); resolves when the broker acknowledged.
    /// Runs on its own thread, never the poll thread, so it may be called while a revocation handler blocks.
    public func commit(_ offsets: [KafkaTopicPartition: Int64]) async throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        guard !closed.load(ordering: .sequentiallyConsistent) else { throw .shutDown("commit") }
        let result = await queryWorker.run { () -> KafkaError? in
            let rk = self.handle
            let list = RDKafkaPartitionList.make(Array(offsets.keys), offsets: offsets)
            defer { rd_kafka_topic_partition_list_destroy(list) }
            let err = rd_kafka_commit(rk.pointer, list, 0)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                return KafkaError(err, handle: rk.pointer, context: "offset commit failed")
            }
            return RDKafkaPartitionList.firstError(list, handle: rk.pointer, context: "offset commit failed")
        }
        guard let result else { throw .shutDown("commit") }
        if let error = result { throw error }
    }

    /// The group's committed offsets (next offset to read); partitions without one are absent.
    public func committed(_ partitions: [KafkaTopicPartition], timeout: Duration) async throws(KafkaError)
        -> [KafkaTopicPartition: Int64]
    {
        guard !partitions.isEmpty else { return [:] }
        guard !closed.load(ordering: .sequentiallyConsistent) else { throw .shutDown("committed") }
        let result = await queryWorker.run { RDKafkaQueries.committed(self.handle, partitions, timeout: timeout) }
        guard let result else { throw .shutDown("committed") }
        return try result.get()
    }

    /// Asks the leaders for the high watermarks (the next offset to be written) of `partitions`, all at once: one
    /// ListOffsets request per leader, sent in parallel. Each may wait behind a long-polling fetch on the same
    /// connection (`fetch.wait.max.ms`), so one round costs that at most once rather than once per partition.
    public func highWatermarks(_ partitions: [KafkaTopicPartition], timeout: Duration) async throws(KafkaError)
        -> [KafkaTopicPartition: Int64]
    {
        guard !partitions.isEmpty else { return [:] }
        guard !closed.load(ordering: .sequentiallyConsistent) else { throw .shutDown("watermarks") }
        let result = await queryWorker.run {
            RDKafkaQueries.latestOffsets(self.handle, partitions, timeout: timeout)
        }
        guard let result else { throw .shutDown("watermarks") }
        return try result.get()
    }

    /// Asks the partition leader for the low and high watermarks (the high one is the next offset to be written).
    public func watermarks(_ partition: KafkaTopicPartition, timeout: Duration) async throws(KafkaError)
        -> (low: Int64, high: Int64)
    {
        guard !closed.load(ordering: .sequentiallyConsistent) else { throw .shutDown("watermarks") }
        let result = await queryWorker.run { RDKafkaQueries.watermarks(self.handle, partition, timeout: timeout) }
        guard let result else { throw .shutDown("watermarks") }
        let marks = try result.get()
        return (marks.low, marks.high)
    }

    /// Per assigned partition: the cached high watermark minus the position (no broker round trip). Partitions
    /// whose position or watermark is not known yet (nothing fetched so far) are absent.
    public func lag() -> [KafkaTopicPartition: Int64] {
        guard !closed.load(ordering: .sequentiallyConsistent) else { return [:] }
        let assigned = state.sortedAssignment
        guard !assigned.isEmpty else { return [:] }
        let reachedEnd = state.ends.withLock { $0 }
        return withClient { rk in KafkaConsumer.lag(rk, assigned, reachedEnd: reachedEnd) }
    }

    private static func lag(_ rk: OpaquePointer, _ assigned: [KafkaTopicPartition],
                            reachedEnd: [KafkaTopicPartition: Int64]) -> [KafkaTopicPartition: Int64] {
        let list = RDKafkaPartitionList.make(assigned)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        guard rd_kafka_position(rk, list) == RD_KAFKA_RESP_ERR_NO_ERROR else { return [:] }
        var lags: [KafkaTopicPartition: Int64] = [:]
        for element in RDKafkaPartitionList.elements(list) where element.offset >= 0 {
            var low: Int64 = -1
            var high: Int64 = -1
            let err = rd_kafka_get_watermark_offsets(
                rk, element.partition.topic, element.partition.partition, &low, &high)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR, high >= 0 else { continue }
            // A transaction's commit marker after the last record is not lag: the end reached counts.
            let position = max(element.offset, reachedEnd[element.partition] ?? -1)
            lags[element.partition] = max(0, high - position)
        }
        return lags
    }

    /// Leaves the group cleanly (the revocation handler runs on the poll thread) and destroys the client.
    public func close() async {
        guard !closed.exchange(true, ordering: .sequentiallyConsistent) else { return }
        let logger = logger
        let state = state
        state.closing.store(true, ordering: .sequentiallyConsistent)
        let rk = await pollWorker.run { () -> RDKafkaHandle in
            let rk = self.handle
            // A deferred revocation nobody completed: applied now, or the close would wait for it forever.
            let revoking = state.revoking.withLock { Array($0) }
            state.revocations.withLock { $0.removeAll() }
            if !revoking.isEmpty {
                let cooperative = rd_kafka_rebalance_protocol(rk.pointer).map { String(cString: $0) } == "COOPERATIVE"
                _ = KafkaConsumer.unassign(rk.pointer, KafkaRevocation(partitions: revoking, lost: false,
                                                                       cooperative: cooperative), state: state)
            }
            let err = rd_kafka_consumer_close(rk.pointer)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                logger.info("Kafka consumer close", metadata: ["kafka.error": "\(String(cString: rd_kafka_err2str(err)))"])
            }
            return rk
        }
        await queryWorker.shutdownAndWait()
        await wakeupWorker.shutdownAndWait()
        if let rk { _ = await pollWorker.run { rd_kafka_destroy(rk.pointer) } }
        await pollWorker.shutdownAndWait()
        logger.info("Kafka consumer closed", metadata: ["kafka.group": "\(configuration.groupID)"])
    }

    private func pauseResume(_ partitions: [KafkaTopicPartition], pause: Bool) throws(KafkaError) {
        guard !partitions.isEmpty else { return }
        guard !closed.load(ordering: .sequentiallyConsistent) else { throw .shutDown(pause ? "pause" : "resume") }
        let what = pause ? "cannot pause partitions" : "cannot resume partitions"
        let error = withClient { rk -> KafkaError? in
            let list = RDKafkaPartitionList.make(partitions)
            defer { rd_kafka_topic_partition_list_destroy(list) }
            let err = pause ? rd_kafka_pause_partitions(rk, list) : rd_kafka_resume_partitions(rk, list)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR { return KafkaError(err, handle: rk, context: what) }
            return RDKafkaPartitionList.firstError(list, handle: rk, context: what)
        }
        if let error { throw error }
    }
}

struct Watermarks: Sendable {
    var low: Int64
    var high: Int64
}
