import CoreMetrics
import Kafka
import Logging
import PipelineConfig
import Synchronization

extension SourceProducer {
    /// Exactly-once (Kafka Connect's scheme for sources, KIP-618): the producer is transactional; each
    /// transaction holds rows and, per table that moved, its position in the compacted offsets topic. On start
    /// the positions are read back from that topic (read_committed), so neither a lost host nor a lost state
    /// directory re-sends a row; the checkpoint file only follows the topic.
    func streamTablesExactlyOnce(started: ContinuousClock.Instant) async throws {
        try await withTransactions { coordinator, positions in
            let progress = Dictionary(uniqueKeysWithValues: self.source.tables.map {
                ($0.name, TableProgress(checkpoint: positions[$0.name]?.key))
            })
            try await withThrowingTaskGroup(of: Void.self) { tables in
                for table in self.source.tables {
                    tables.addTask {
                        try await self.streamTable(table, progress: progress[table.name]!, started: started,
                                                   transactions: coordinator)
                    }
                }
                try await tables.waitForAll()
            }
        }
    }

    /// Sets up the transactional source and runs `body` (which produces through the coordinator) beside the
    /// committer; commits what `body` left open, also when it fails.
    func withTransactions(
        _ body: @escaping @Sendable (TransactionCoordinator, [String: SourcePosition]) async throws -> Void
    ) async throws {
        let kafka = configuration.kafka
        // Fences any older instance with the same transactional.id; its open transaction is aborted, so the
        // offsets topic read below is final.
        try await liveness.whileWaiting { () async throws(KafkaError) in
            try await producer.initTransactions(timeout: .seconds(60))
        }
        let positions = try await loadPositions()
        // The checkpoint file holds table keys only (an emulator position is no key).
        let fileKeys: @Sendable ([String: SourcePosition]) -> [String: Int64] = {
            $0.compactMapValues { $0.mode == "emulate" ? nil : $0.key }
        }
        let committedKeys = Mutex<[String: Int64]>(fileKeys(positions))
        let writer = CheckpointWriter(store: checkpoints, snapshot: { committedKeys.withLock { $0 } },
                                      onError: { [logger, stats] error in
                                          logger.error("Cannot save checkpoint: \(error)")
                                          stats.recordError("\(error)")
                                      })
        let coordinator = TransactionCoordinator(
            producer: producer, offsetsTopic: kafka.offsetsTopic,
            settings: TransactionLimits(maxRecords: kafka.transaction.maxRecords,
                                        maxInterval: kafka.transaction.maxInterval),
            committed: positions, liveness: liveness, logger: logger,
            onCommit: { [stats] committed in
                stats.recordCheckpoint(tables: committed.keys)
                committedKeys.withLock { $0 = fileKeys(committed) }
                writer.markDirty()
            },
            onFatal: { [shutdown] _ in shutdown.trigger() })
        try producer.beginTransaction()
        logger.info("Exactly-once: producing in transactions", metadata: [
            "kafka.transactional_id": "\(kafka.effectiveTransactionalID)", "kafka.offsets_topic": "\(kafka.offsetsTopic)",
            "transaction.max_records": "\(kafka.transaction.maxRecords)",
            "transaction.max_interval": "\(ValueParsers.format(kafka.transaction.maxInterval))",
        ])
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await coordinator.run() }
                do {
                    try await body(coordinator, positions)
                } catch {
                    // Commit what was produced, then stop with the body's error.
                    shutdown.trigger()
                    coordinator.requestStop()
                    try? await group.waitForAll()
                    throw error
                }
                coordinator.requestStop()
                try await group.waitForAll()
            }
        } catch {
            await writer.stop()
            throw error
        }
        await writer.stop()
        logger.info("Exactly-once: transactions done", metadata: [
            "commits": "\(coordinator.commits.load(ordering: .relaxed))",
            "aborts": "\(coordinator.aborts.load(ordering: .relaxed))",
            "positions": "\(coordinator.committed)",
        ])
    }

    /// Admits `rows` rows (one, or a chunk) into the open transaction, produces them and releases them with the
    /// table's new position (`key`: the last row's). Rows that cannot be produced abort the transaction (throws
    /// ``TransactionRewind`` once it is aborted).
    func produceInTransaction(
        _ transactions: TransactionCoordinator, generation: Int, table: TableSource, key: Int64?,
        progress: TableProgress, rows: Int = 1, _ produce: () async throws(KafkaError) -> Void
    ) async throws {
        try await transactions.admit(rows: rows, generation: generation)
        do {
            try await produce()
        } catch {
            transactions.release(table: table.name, position: nil)
            if error.isFatal { throw error }
            stats.recordError("\(error)")
            logger.warning("A row could not be produced; aborting the transaction", metadata: [
                LogKey.table: "\(table.table)", LogKey.error: "\(error)",
            ])
            try await transactions.waitForRewind(generation: generation)
        }
        if let key { progress.produced(key: key) }
        transactions.release(table: table.name,
                             position: SourcePosition(mode: source.mode.rawValue, key: progress.lastDispatched))
    }

    /// The delivery callback of a row in a transaction: a failed delivery means the transaction must abort
    /// (purges are the abort's own doing).
    func transactionalDelivery(_ transactions: TransactionCoordinator)
        -> @Sendable (Result<KafkaDeliveryReport, KafkaError>) -> Void
    {
        { result in
            if case .failure(let error) = result, !error.isPurge {
                transactions.poison()
            }
        }
    }

    /// The positions to start from: the offsets topic's (latest per table) where it has one, else the local
    /// checkpoint file's. Logs where each came from.
    func loadPositions() async throws -> [String: SourcePosition] {
        let kafka = configuration.kafka
        let reader = kafkaAccess.topicReader(logger: logger)
        let contents = try await liveness.whileWaiting { () async throws(KafkaError) in
            try await reader.readAll(topic: kafka.offsetsTopic, timeout: .seconds(60))
        }
        let fromTopic = OffsetsTopic.latest(contents.records)
        let fromFile = try checkpoints.load()
        var positions: [String: SourcePosition] = [:]
        var origins: Logger.Metadata = [:]
        for table in source.tables {
            let file = fromFile[table.name]
            if let position = fromTopic[table.name], OffsetsTopic.isCompatible(position, with: source.mode) {
                positions[table.name] = position
                origins[table.name] = .string("\(position) from \(kafka.offsetsTopic)"
                    + (file.map { $0 == position.key ? "" : " (the checkpoint file's key \($0) is ignored)" } ?? ""))
            } else if let position = fromTopic[table.name] {
                logger.warning("The offsets topic's position is from another source mode; starting over", metadata: [
                    LogKey.table: "\(table.name)", "position": "\(position)", "mode": "\(source.mode.rawValue)",
                ])
                origins[table.name] = "start (mode changed)"
            } else if let key = file, source.mode != .emulate {
                positions[table.name] = SourcePosition(mode: source.mode.rawValue, key: key)
                origins[table.name] = "key \(key) from \(checkpoints.path) (none in \(kafka.offsetsTopic))"
            } else {
                origins[table.name] = "start (no position in \(kafka.offsetsTopic) nor \(checkpoints.path))"
            }
        }
        logger.info("Exactly-once: source positions", metadata: origins)
        return positions
    }
}

/// The compacted topic `<prefix>.pinpipe-offsets`: key = table name, value = a ``SourcePosition``.
enum OffsetsTopic {
    /// The latest position per table: the highest commit number wins; for equal numbers the later record.
    static func latest(_ records: [KafkaMessage]) -> [String: SourcePosition] {
        var result: [String: SourcePosition] = [:]
        for record in records {
            guard let key = record.key, let position = SourcePosition.decode(record.value) else { continue }
            let table = String(decoding: key, as: UTF8.self)
            if let existing = result[table], existing.commit > position.commit { continue }
            result[table] = position
        }
        return result
    }

    /// Snapshot and follow share key positions; the emulator's count events.
    static func isCompatible(_ position: SourcePosition, with mode: SourceConfiguration.Mode) -> Bool {
        (position.mode == "emulate") == (mode == .emulate)
    }
}

/// A table's delivery reports in exactly-once mode, routed without a closure per row: counts the acknowledged
/// records; a failed delivery (other than the purge of an abort) means the open transaction must abort.
final class TransactionalDeliveries: KafkaDeliveryReceiver {
    let transactions: TransactionCoordinator
    let acknowledged: CoreMetrics.Counter

    init(transactions: TransactionCoordinator, acknowledged: CoreMetrics.Counter) {
        self.transactions = transactions
        self.acknowledged = acknowledged
    }

    func delivered(token: Int, partition: Int32, offset: Int64, error: KafkaError?) {
        guard let error else {
            acknowledged.increment()
            return
        }
        if !error.isPurge { transactions.poison() }
    }
}
