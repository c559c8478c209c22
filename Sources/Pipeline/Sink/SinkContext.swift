import Gzip
import Kafka
import Logging
import NIOCore
import PipelineConfig
import Synchronization
import Support

/// What every partition writer of one sink shares: settings, ports, counters and the first fatal error.
final class SinkContext: Sendable {
    let settings: S3SinkSettings
    let objectStore: any SinkObjectStore
    let committer: any SinkOffsetCommitter
    let deadLetter: any DeadLetterWriter
    let stats: PipelineStats
    let logger: Logger
    let hooks: TestHooks
    /// The clock of the retry waits (the heartbeats' clock, so a test drives them with a test clock).
    let clock: PipelineClock
    /// Where the upload chains run: child tasks of the sink's `run`.
    let uploadChains = SinkUploads()
    /// What the batches of every partition hold, against `settings.memoryLimit`.
    let budget: SinkMemoryBudget
    private let fatal = Mutex<(any Error)?>(nil)
    private let uploads = Atomic<Int>(0)
    private let onFatal: @Sendable () -> Void

    init(settings: S3SinkSettings, objectStore: any SinkObjectStore, committer: any SinkOffsetCommitter,
         deadLetter: any DeadLetterWriter, stats: PipelineStats, logger: Logger, hooks: TestHooks,
         clock: PipelineClock = .continuous, onFatal: @escaping @Sendable () -> Void) {
        self.clock = clock
        self.settings = settings
        self.objectStore = objectStore
        self.committer = committer
        self.deadLetter = deadLetter
        self.stats = stats
        self.logger = logger
        self.hooks = hooks
        self.onFatal = onFatal
        let budget = SinkMemoryBudget(limit: settings.memoryLimit)
        self.budget = budget
        stats.gauge(MetricName.memoryLimit).record(settings.memoryLimit)
        stats.observe("sink.memory") { [stats] in
            let usage = budget.usage
            stats.gauge(MetricName.memory).record(usage.open + usage.sealed + usage.spare)
        }
    }

    var fatalError: (any Error)? { fatal.withLock { $0 } }

    func fail(_ error: any Error) {
        let first = fatal.withLock { current -> Bool in
            guard current == nil else { return false }
            current = error
            return true
        }
        if first {
            logger.error("S3 sink stopping: \(error)")
            budget.wakeAll()
            onFatal()
        }
    }

    /// The object metadata of a batch: its offsets and counts, which `pinpipe verify` reads back.
    ///
    /// `covers-from`: the offset after the previous object of this partition, so `verify` can tell offsets without
    /// a record (transaction markers, aborted records: read_committed never returns them) from missing ones.
    static func metadata(_ batch: SealedBatch, coversFrom: Int64?) -> [String: String] {
        var metadata = [
            "first-offset": String(batch.startOffset),
            "last-offset": String(batch.lastOffset),
            "record-count": String(batch.recordCount),
            "dead-letter-count": String(batch.deadLetterCount),
        ]
        if let coversFrom { metadata["covers-from"] = String(coversFrom) }
        return metadata
    }

    /// Where a batch's coverage starts: the batch knows when an earlier batch of the same read precedes it;
    /// the first batch after an assignment starts where the group's committed offset says the read began, or,
    /// for a group that never committed this partition, at the log start (where its first read began: offsets
    /// before the first record there were aborted transactions or markers).
    func coverage(of batch: SealedBatch, partition: KafkaTopicPartition) async -> Int64? {
        if let known = batch.coversFrom { return known }
        var backoff = Backoff(initial: .milliseconds(200), maximum: .milliseconds(800))
        for attempt in 0..<3 {
            do {
                guard let committed = try await committer.committed(partition) else {
                    guard let start = try await committer.logStart(partition) else { return nil }
                    if start > 0 {
                        // Not a loss the sink can record (it never had a position below the log start), but no
                        // reader of this group saw those offsets: say so once, where operators look.
                        logger.warning("The group has no committed offset for this partition and starts at its log start \(start): offsets 0...\(start - 1) were deleted before this group read them (pinpipe verify reports them as unchecked)",
                                       metadata: [LogKey.topic: "\(partition.topic)", LogKey.partition: "\(partition.partition)",
                                                  "kafka.log_start": "\(start)"])
                    }
                    return start <= batch.startOffset ? start : nil
                }
                return committed <= batch.startOffset ? committed : nil
            } catch {
                logger.debug("Cannot read the committed offset of \(partition) (attempt \(attempt + 1)): \(error)")
                try? await clock.sleep(for: backoff.next())
            }
        }
        return nil
    }

    /// Stores one batch and commits its offsets, retrying outages until done, revoked or failed for good.
    /// Returns false when the chain must stop (revoked, or a fatal error was recorded).
    func store(_ batch: SealedBatch, partition: KafkaTopicPartition, isRevoked: @Sendable () -> Bool) async -> Bool {
        let key = ObjectKey(topic: partition.topic, partition: partition.partition, startOffset: batch.startOffset)
            .key(prefix: settings.prefix, timePath: batch.timePath, gzip: settings.gzip)
        var metadata = Logger.Metadata()
        metadata[LogKey.topic] = "\(partition.topic)"
        metadata[LogKey.partition] = "\(partition.partition)"
        metadata[LogKey.firstOffset] = "\(batch.startOffset)"
        metadata[LogKey.lastOffset] = "\(batch.lastOffset)"
        metadata[LogKey.objectKey] = "\(key)"
        var backoff = Backoff(initial: .milliseconds(500), maximum: .seconds(30))
        let body = settings.gzip
            ? ByteBuffer(bytes: batch.body.withUnsafeReadableBytes { GzipEncoder.compress($0) }) : batch.body
        let coversFrom = await coverage(of: batch, partition: partition)
        let uploadStarted = ContinuousClock.now
        if !batch.deadLetters.isEmpty {
            // First the records that are not valid JSON (one object for the batch, same start offset), so that
            // the commit after the data object never passes a record that is stored nowhere.
            let letters = DeadLetterBatch(partition: partition, startOffset: batch.startOffset, letters: batch.deadLetters)
            let stored = await retryingOutages("dead-letter write", cause: "dead_letter_write", operation: "dead_letter",
                                               metadata: metadata, isRevoked: isRevoked) {
                try await self.deadLetter.write(letters)
            }
            guard stored else { return false }
            stats.recordDeadLetters(batch.deadLetters.map(\.reason), topic: partition.topic)
            logger.warning("\(batch.deadLetters.count) records are not valid JSON; stored at the dead-letter location",
                           metadata: metadata.merging([LogKey.reason: "\(batch.deadLetters[0].reason)",
                                                       LogKey.offset: "\(batch.deadLetters[0].offset)"]) { $1 })
        }
        let uploaded = await retryingOutages("S3 upload", cause: "s3_put", operation: "put", metadata: metadata,
                                             isRevoked: isRevoked) {
            try await self.objectStore.put(key: key, body: body, contentEncoding: self.settings.gzip ? "gzip" : nil,
                                           metadata: Self.metadata(batch, coversFrom: coversFrom))
        }
        guard uploaded else { return false }
        let uploadNumber = uploads.add(1, ordering: .relaxed).newValue
        hooks.afterUpload(number: uploadNumber)
        backoff.reset()
        let commitStarted = ContinuousClock.now
        while true {
            do {
                try await committer.commit(partition, offset: batch.lastOffset + 1)
                break
            } catch {
                if isRevoked() {
                    logger.info("Commit after revocation refused; the new owner rewrites the same object",
                                metadata: metadata)
                    return false
                }
                guard SinkFailure.isRetriable(error) else {
                    fail(error)
                    return false
                }
                let wait = backoff.next()
                stats.recordRetry(cause: "offset_commit")
                logger.warning("Offset commit failed; retrying in \(wait)", metadata: metadata.merging(
                    [LogKey.error: "\(error)"]) { $1 })
                try? await clock.sleep(for: wait)
                if Task.isCancelled { return false }
            }
        }
        stats.recordUpload(topic: partition.topic, records: batch.recordCount, bytes: body.readableBytes,
                           reason: batch.reason.rawValue)
        metadata[LogKey.records] = "\(batch.recordCount)"
        metadata[LogKey.reason] = "\(batch.reason.rawValue)"
        metadata["s3.upload_ms"] = "\(Self.milliseconds(commitStarted - uploadStarted))"
        metadata["kafka.commit_ms"] = "\(Self.milliseconds(ContinuousClock.now - commitStarted))"
        logger.debug("Object stored and offsets committed", metadata: metadata)
        return true
    }

    /// Runs `body` until it succeeds (true), or the partition is revoked, a fatal error was recorded, the task is
    /// cancelled or `body` failed for good (false, the failure recorded). Outages are retried with backoff and
    /// shown in STATUS.
    /// `cause` labels its retries and `operation` times each attempt (bounded label values).
    func retryingOutages(_ what: String, cause: String, operation: String, metadata: Logger.Metadata,
                         isRevoked: @Sendable () -> Bool, _ body: () async throws -> Void) async -> Bool {
        var backoff = Backoff(initial: .milliseconds(500), maximum: .seconds(30))
        while true {
            if isRevoked() || fatalError != nil { return false }
            do {
                let started = ContinuousClock.now
                defer { stats.recordS3Request(operation, duration: ContinuousClock.now - started) }
                try await body()
                if backoff.attempt > 0 { stats.setOutage(nil) }
                return true
            } catch {
                guard SinkFailure.isRetriable(error) else {
                    fail(error)
                    return false
                }
                let wait = backoff.next()
                stats.recordRetry(cause: cause)
                stats.setOutage("S3: \(error)")
                stats.recordError("\(error)")
                logger.warning("\(what) failed; retrying in \(wait)", metadata: metadata.merging(
                    [LogKey.error: "\(error)"]) { $1 })
                try? await clock.sleep(for: wait)
                if Task.isCancelled { return false }
            }
        }
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }
}
