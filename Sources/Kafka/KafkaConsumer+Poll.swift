import CRdKafka
import Logging

/// What one poll produced: records, and an error that ended it early (thrown now or by the next poll).
struct PollBatch: Sendable {
    var records: KafkaRecordBatch
    var error: KafkaError?
    /// Partitions whose position fell out of the log, after the records above (the poll stops at the first).
    var resets: [KafkaOffsetReset] = []
    /// Partitions whose end the fetcher reached, with the offset it reached (past any transaction marker).
    var ends: [KafkaTopicPartition: Int64] = [:]
    /// Messages and events left in the consumer queue after the poll (`rd_kafka_queue_length`).
    var queued = 0
}

extension KafkaConsumer {
    /// Codes that stop consumption until someone fixes the configuration or the ACLs: thrown, not logged.
    static let terminalCodes: Set<KafkaError.Code> = [
        .init(rawValue: RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED.rawValue),
        .init(rawValue: RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED.rawValue),
        .init(rawValue: RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED.rawValue),
        .init(rawValue: RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED.rawValue),
        .init(rawValue: RD_KAFKA_RESP_ERR__AUTHENTICATION.rawValue),
        .init(rawValue: RD_KAFKA_RESP_ERR__SSL.rawValue),
    ]

    /// Runs on the poll thread: waits up to `timeout` for the first record, then takes what is already there.
    static func pollBatch(_ rk: OpaquePointer, timeout: Duration, maxRecords: Int, state: ConsumerCallbackState,
                          readsHeaders: Bool = true, logger: Logger) -> PollBatch {
        var batch = PollBatch(records: KafkaRecordBatch())
        // Only after a restart (rare): drop records returned already (see `restartFetching`).
        let deduplicating = !state.nextExpected.withLock { $0.isEmpty }
        var fresh: [KafkaTopicPartition] = []
        defer { startFresh(rk, fresh, state: state, logger: logger) }
        defer { if deduplicating { state.nextExpected.withLock { $0.endRun() } } }  // before the start above
        var topicCache = TopicIndexCache()
        let deadline = ContinuousClock.now + timeout
        // A deferred revocation (in the rebalance callback, inside rd_kafka_consumer_poll) ends the poll: the
        // records before it are handed over first, and nothing of its partitions after it.
        var revocations = state.revocationCount.load(ordering: .sequentiallyConsistent)
        var revoking = state.revoking.withLock { $0 }
        var revoked = false
        while batch.records.count < maxRecords && !revoked {
            let wait = batch.records.isEmpty ? (deadline - ContinuousClock.now).librdkafkaMilliseconds : 0
            let polled = rd_kafka_consumer_poll(rk, wait)
            let count = state.revocationCount.load(ordering: .sequentiallyConsistent)
            if count != revocations {
                revocations = count
                revoking = state.revoking.withLock { $0 }
                revoked = true
            }
            guard let message = polled else {
                if batch.records.isEmpty && ContinuousClock.now < deadline && !revoked { continue }
                break
            }
            defer { rd_kafka_message_destroy(message) }
            let err = message.pointee.err
            if !revoking.isEmpty, let rkt = message.pointee.rkt,
               revoking.contains(KafkaTopicPartition(topic: String(cString: rd_kafka_topic_name(rkt)),
                                                     partition: message.pointee.partition)) {
                continue
            }
            if err == RD_KAFKA_RESP_ERR_NO_ERROR {
                if deduplicating, let rkt = message.pointee.rkt {
                    // The filter stays on until the next rebalance, for every record: one lookup per run.
                    let (partition, offset) = (message.pointee.partition, message.pointee.offset)
                    let repeated = state.nextExpected.withLock {
                        $0.isRepeat(handle: rkt, partition: partition, offset: offset) {
                            String(cString: rd_kafka_topic_name(rkt))
                        }
                    }
                    if repeated { continue }
                }
                if batch.records.isEmpty {
                    // One record's size times the batch size: the byte buffer rarely has to grow.
                    batch.records.reserveCapacity(
                        records: maxRecords, bytes: min(maxRecords * (message.pointee.len + message.pointee.key_len + 16), 8 << 20))
                }
                append(message, to: &batch.records, topics: &topicCache, readsHeaders: readsHeaders)
                continue
            }
            let topic = message.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) }
            if err == RD_KAFKA_RESP_ERR__PARTITION_EOF {
                if let topic {
                    batch.ends[KafkaTopicPartition(topic: topic, partition: message.pointee.partition)] = message.pointee.offset
                }
                continue
            }
            let text = rd_kafka_message_errstr(message).map { String(cString: $0) } ?? ""
            if err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET, let topic {
                // auto.offset.reset=error: librdkafka stopped fetching the partition and waits for a seek.
                let partition = KafkaTopicPartition(topic: topic, partition: message.pointee.partition)
                if message.pointee.offset < 0 {
                    // No committed offset: the group's first read of this partition. It starts at the log start,
                    // once this poll is over (every such partition at once).
                    fresh.append(partition)
                    continue
                }
                batch.resets.append(KafkaOffsetReset(partition: partition, offset: message.pointee.offset, reason: text))
                break
            }
            var error = KafkaError(
                err, handle: rk, context: "consumer error \(text)", topic: topic,
                partition: topic == nil ? nil : message.pointee.partition)
            if !error.isFatal, let fatal = KafkaError.fatal(of: rk) { error = fatal }
            if error.isFatal || terminalCodes.contains(error.code) {
                error.isRetriable = false
                batch.error = error
                break
            }
            logger.info("Kafka consumer: transient error", metadata: ["kafka.error": "\(error)"])
        }
        if let queue = rd_kafka_queue_get_consumer(rk) {
            batch.queued = rd_kafka_queue_length(queue)
            rd_kafka_queue_destroy(queue)
        }
        return batch
    }

    /// Applies the assignment anew, the partitions in `targets` starting at the given offset (nil: the log
    /// start); see `restart(_:at:)`. On the poll thread, so it is ordered with the rebalance callback and polls.
    /// Every partition gets an explicit start: its position (the offset after the last record returned), else
    /// the mark of an earlier restart, else its committed offset, else the log start. These become the duplicate filter's marks
    /// (`ConsumerCallbackState.nextExpected`).
    /// Starts partitions without a committed offset at the log start: the ones this poll met, and those whose
    /// start failed before (retried every `retryInterval` while they stay assigned). Runs on the poll thread.
    static func startFresh(_ rk: OpaquePointer, _ fresh: [KafkaTopicPartition], state: ConsumerCallbackState,
                           logger: Logger, retryInterval: Duration = .seconds(2)) {
        let assigned = state.assignment.withLock { $0 }
        var starts = Set(fresh)
        let retrying = state.pendingStarts.withLock { pending -> Bool in
            guard !pending.partitions.isEmpty, ContinuousClock.now >= pending.nextAttempt else { return false }
            starts.formUnion(pending.partitions.intersection(assigned))
            pending.partitions.removeAll()
            return true
        }
        guard !starts.isEmpty else { return }
        let err = restartFetching(rk, Dictionary(uniqueKeysWithValues: starts.map { ($0, nil) }), state: state)
        let names = starts.map(\.description).sorted()
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            let failures = state.pendingStarts.withLock { pending -> Int in
                pending.partitions.formUnion(starts)
                pending.failures += 1
                pending.nextAttempt = .now + retryInterval
                return pending.failures
            }
            if failures == 1 || failures % 30 == 0 {
                logger.warning("Kafka: cannot start partitions without a committed offset yet (retried every \(retryInterval))",
                               metadata: ["kafka.partitions": "\(names)", "kafka.attempts": "\(failures)",
                                          "kafka.error": "\(String(cString: rd_kafka_err2str(err)))"])
            }
        } else if retrying {
            let failures = state.pendingStarts.withLock { pending -> Int in
                defer { pending.failures = 0 }
                return pending.failures
            }
            logger.notice("Kafka: partitions without a committed offset started at the log start after a retry",
                          metadata: ["kafka.partitions": "\(names)", "kafka.failed_attempts": "\(failures)"])
        }
    }

    static func restartFetching(_ rk: OpaquePointer, _ targets: [KafkaTopicPartition: Int64?],
                                state: ConsumerCallbackState) -> rd_kafka_resp_err_t {
        let handle = RDKafkaHandle(rk)
        func logStart(_ partition: KafkaTopicPartition) -> Int64? {
            try? RDKafkaQueries.watermarks(handle, partition, timeout: .seconds(10)).get().low
        }
        if rd_kafka_rebalance_protocol(rk).map({ String(cString: $0) }) == "COOPERATIVE" {
            var offsets: [KafkaTopicPartition: Int64] = [:]
            for (partition, offset) in targets {
                guard let start = offset ?? logStart(partition) else { return RD_KAFKA_RESP_ERR__TIMED_OUT }
                offsets[partition] = start
            }
            let list = RDKafkaPartitionList.make(Array(offsets.keys), offsets: offsets)
            defer { rd_kafka_topic_partition_list_destroy(list) }
            for change in [rd_kafka_incremental_unassign, rd_kafka_incremental_assign] {
                if let error = change(rk, list) {
                    defer { rd_kafka_error_destroy(error) }
                    return rd_kafka_error_code(error)
                }
            }
            forgetEnds(of: targets.keys, state: state)
            return RD_KAFKA_RESP_ERR_NO_ERROR
        }
        var current: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        var err = rd_kafka_assignment(rk, &current)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let current else { return err }
        defer { rd_kafka_topic_partition_list_destroy(current) }
        err = rd_kafka_position(rk, current)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { return err }
        let elements = RDKafkaPartitionList.elements(current)
        guard targets.keys.allSatisfy({ target in elements.contains { $0.partition == target } }) else {
            return RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION
        }
        // Right after an earlier restart, a partition has no position until a record of it is returned; the
        // earlier restart's mark (kept up to date by the polls since) is where it stands. The committed offset
        // would be behind the records returned already (the sink commits after storing).
        let previousMarks = state.nextExpected.withLock { $0.current() }
        // Without a position or mark, and the partitions to start "at the log start": their committed offset
        // first (a reset may also mean librdkafka's own lookup failed).
        let unknown = elements.filter { element in
            if let target = targets[element.partition] { return target == nil }
            return element.offset < 0 && previousMarks[element.partition] == nil
        }.map(\.partition)
        var committed: [KafkaTopicPartition: Int64] = [:]
        if !unknown.isEmpty {
            switch RDKafkaQueries.committed(handle, unknown, timeout: .seconds(10)) {
            case .success(let offsets): committed = offsets
            case .failure(let error): return rd_kafka_resp_err_t(rawValue: error.code.rawValue)
            }
        }
        var marks: [KafkaTopicPartition: Int64] = [:]
        for (index, element) in elements.enumerated() {
            let start: Int64?
            if let target = targets[element.partition] {
                start = target ?? committed[element.partition] ?? logStart(element.partition)
            } else if element.offset >= 0 {
                start = element.offset
            } else if let mark = previousMarks[element.partition] {
                start = mark
            } else {
                start = committed[element.partition] ?? logStart(element.partition)
            }
            guard let start else { return RD_KAFKA_RESP_ERR__TIMED_OUT }
            current.pointee.elems[index].offset = start
            marks[element.partition] = start
        }
        state.nextExpected.withLock { $0.replace(with: marks) }
        err = rd_kafka_assign(rk, current)
        if err == RD_KAFKA_RESP_ERR_NO_ERROR { forgetEnds(of: targets.keys, state: state) }
        return err
    }

    /// A partition moved to a new position (after a retention loss: past the records deleted) no longer stands at
    /// the end the fetcher reported before: that report would let a `--once` reader stop with the records from
    /// the new position on unread. The fetcher reports the end again once it reaches it from there.
    static func forgetEnds(of partitions: some Sequence<KafkaTopicPartition>, state: ConsumerCallbackState) {
        state.ends.withLock { ends in for partition in partitions { ends[partition] = nil } }
    }

    /// Moves a partition's fetch position. After an offset reset with `auto.offset.reset=error` the partition
    /// is stopped and librdkafka accepts only a logical offset (the beginning or end of the log, or the committed
    /// offset), which restarts it; an absolute offset is refused (`_STATE`) until it fetches again. A zero
    /// timeout starts the seek without waiting (safe on the poll thread); otherwise the call returns once the
    /// fetcher took the new position, so no record of the old one is returned afterwards.
    static func seek(_ rk: OpaquePointer, _ partition: KafkaTopicPartition, to offset: Int64, timeout: Duration)
        -> rd_kafka_resp_err_t
    {
        let list = RDKafkaPartitionList.make([partition], offsets: [partition: offset])
        defer { rd_kafka_topic_partition_list_destroy(list) }
        if let error = rd_kafka_seek_partitions(rk, list, timeout.librdkafkaMilliseconds) {
            defer { rd_kafka_error_destroy(error) }
            return rd_kafka_error_code(error)
        }
        let element = list.pointee.elems[0]
        return element.err
    }

    /// Remembers the batch's topic index of each librdkafka topic handle, so names are read once per poll.
    struct TopicIndexCache {
        var handle: OpaquePointer?
        var index: Int32 = 0
    }

    /// Copies one librdkafka message into the batch.
    static func append(_ message: UnsafeMutablePointer<rd_kafka_message_t>, to batch: inout KafkaRecordBatch,
                       topics cache: inout TopicIndexCache, readsHeaders: Bool = true) {
        let m = message.pointee
        if cache.handle == nil || cache.handle != m.rkt {
            cache.handle = m.rkt
            cache.index = batch.topicIndex(of: m.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? "")
        }
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(message, &timestampType)
        let headers = readsHeaders ? readHeaders(message) : []
        let value = UnsafeRawBufferPointer(start: m.payload, count: m.payload == nil ? 0 : m.len)
        let key = m.key.map { UnsafeRawBufferPointer(start: $0, count: m.key_len) }
        batch.append(topicIndex: cache.index, partition: m.partition, offset: m.offset, key: key, value: value,
                     timestamp: timestampType == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE || timestamp < 0 ? -1 : timestamp,
                     headers: headers)
    }

    static func readHeaders(_ message: UnsafeMutablePointer<rd_kafka_message_t>) -> [KafkaHeader] {
        var headers: [KafkaHeader] = []
        var list: OpaquePointer?
        if rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list {
            var index = 0
            var name: UnsafePointer<CChar>?
            var bytes: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(list, index, &name, &bytes, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                headers.append(
                    KafkaHeader(
                        key: name.map { String(cString: $0) } ?? "",
                        value: bytes.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []))
                index += 1
            }
        }
        return headers
    }
}
