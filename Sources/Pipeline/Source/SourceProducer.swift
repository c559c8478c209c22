import CoreMetrics
import Foundation
import Kafka
import Logging
import PipelineConfig
import Postgres
import Synchronization
import Systemd
import Support

/// The source producer actor: reads the three tables and produces each row to its topic.
public final class SourceProducer: Sendable {
    let configuration: PinpipeConfiguration
    let database: PostgresConnectionParameters
    let producer: KafkaProducer
    let checkpoints: CheckpointStore
    let context: ActorContext
    let liveness: ActorLiveness
    let once: Bool
    var stats: PipelineStats { context.stats }
    var shutdown: ShutdownSignal { context.shutdown }
    var hooks: TestHooks { context.hooks }
    var logger: Logger { context.logger }
    /// How its own Kafka readers connect (the offsets topic).
    let kafkaAccess: KafkaAccess
    static let actorName = "source"

    public init(configuration: PinpipeConfiguration, kafka: KafkaAccess? = nil, database: PostgresConnectionParameters,
                producer: KafkaProducer, once: Bool, context: ActorContext) {
        self.configuration = configuration
        self.kafkaAccess = kafka ?? KafkaAccess(plain: configuration.kafka)
        self.database = database
        self.producer = producer
        self.checkpoints = CheckpointStore(stateDirectory: configuration.stateDirectory,
                                           topicPrefix: configuration.kafka.topicPrefix)
        self.context = context
        self.liveness = ActorLiveness(heartbeats: context.heartbeats, name: Self.actorName)
        self.once = once || configuration.source.exitWhenDone
    }

    var source: SourceConfiguration { configuration.source }

    /// Runs the configured mode until done (`--once`) or until shutdown; always flushes the producer and saves
    /// the checkpoint before returning.
    public func run() async throws {
        liveness.register()
        defer { liveness.unregister() }
        stats.observe("source.in_flight") { [producer, stats] in
            stats.gauge(MetricName.inFlight).record(producer.inFlight)
        }
        let started = ContinuousClock.now
        switch source.mode {
        case .emulate:
            try await emulate(started: started)
        case .snapshot, .follow:
            try await streamTables(started: started)
        case .cdc:
            try await ChangeCaptureStream(source: self).run(started: started)
        }
        if !once || source.mode == .follow {
            // Idle until asked to stop, its loop still turning: a snapshot that is done is not a hung actor.
            while !shutdown.isTriggered {
                await hooks.hangIfRequested(actor: Self.actorName, startedAt: started)
                if await liveness.sleep(for: liveness.tick, or: shutdown) { break }
            }
        }
    }

    // MARK: snapshot and follow

    /// At-least-once: each table's checkpoint moves over the keys Kafka acknowledged, and is saved after every
    /// acknowledged batch. Exactly-once (`kafka.exactly_once`): see `streamTablesExactlyOnce`.
    private func streamTables(started: ContinuousClock.Instant) async throws {
        if configuration.kafka.exactlyOnce {
            try await streamTablesExactlyOnce(started: started)
            return
        }
        let saved = try checkpoints.load()
        let progress = Dictionary(uniqueKeysWithValues: source.tables.map {
            ($0.name, TableProgress(checkpoint: saved[$0.name]))
        })
        if !saved.isEmpty {
            logger.info("Resuming from checkpoint", metadata: ["checkpoint": "\(saved)", "file": "\(checkpoints.path)"])
        }
        let writer = CheckpointWriter(store: checkpoints, snapshot: {
            var keys: [String: Int64] = [:]
            for (name, table) in progress { if let key = table.checkpoint { keys[name] = key } }
            return keys
        }, onError: { [logger, stats] error in
            logger.error("Cannot save checkpoint: \(error)")
            stats.recordError("\(error)")
        }, onSaved: { [stats] tables in stats.recordCheckpoint(tables: tables) })
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for table in source.tables {
                    group.addTask {
                        try await self.streamTable(table, progress: progress[table.name]!, started: started,
                                                   checkpoint: writer)
                    }
                }
                try await group.waitForAll()
            }
        } catch {
            shutdown.trigger()
            await flush()
            await writer.stop()
            throw error
        }
        await flush()
        await writer.stop()
        logger.info("Checkpoint saved after acknowledged batches", metadata: [
            "saves": "\(writer.saves)", "file": "\(checkpoints.path)",
        ])
    }

    func flush() async {
        do {
            try await liveness.whileWaiting { () async throws(KafkaError) in
                try await producer.flush(timeout: .seconds(120))
            }
        } catch {
            logger.error("Producer flush failed: \(error)")
        }
    }

    /// Streams one table: the snapshot, then (follow mode) the new rows, through outages. With a transaction
    /// coordinator every row goes through its gate; without, `checkpoint` is told whenever acknowledgements
    /// moved the table's checkpoint.
    func streamTable(_ table: TableSource, progress: TableProgress, started: ContinuousClock.Instant,
                     checkpoint: CheckpointWriter? = nil, transactions: TransactionCoordinator? = nil) async throws {
        // One connection per table for as long as it works: follow mode polls over it instead of reconnecting.
        // Closed here, whatever way the reading ends, before this returns.
        var open: PostgresConnection?
        do {
            try await streamRows(table, progress: progress, started: started, checkpoint: checkpoint,
                                 transactions: transactions, over: &open)
        } catch {
            await open?.close()
            throw error
        }
        await open?.close()
    }

    private func streamRows(_ table: TableSource, progress: TableProgress, started: ContinuousClock.Instant,
                            checkpoint: CheckpointWriter?, transactions: TransactionCoordinator?,
                            over open: inout PostgresConnection?) async throws {
        let topic = configuration.kafka.topic(for: table)
        var metadata: Logger.Metadata = [LogKey.table: "\(table.table)", LogKey.topic: "\(topic)"]
        var backoff = Backoff(initial: source.reconnect.initialDelay, maximum: source.reconnect.maxDelay)
        var snapshotDone = false
        var reportedFallback = false
        var keyless = KeylessRows(keyColumn: table.keyColumn)
        // Exactly-once: the generation this reader's rows belong to; an abort rewinds it to the committed key.
        var generation = transactions?.generation ?? 0
        let acknowledged = stats.acknowledgedCounter(topic: topic)  // once, not per row
        // The delivery reports go to one receiver per table rather than a closure per row (exactly once too,
        // without a header; the per-row path with headers keeps closures there).
        let receiver: any KafkaDeliveryReceiver
        if let transactions {
            receiver = TransactionalDeliveries(transactions: transactions, acknowledged: acknowledged)
        } else {
            receiver = TableDeliveries(progress: progress, checkpoint: checkpoint, acknowledged: acknowledged)
        }
        let route = try producer.route(topic: topic, receiver: receiver)
        while !shutdown.isTriggered {
            do {
                // The start-up checks already proved the database reachable: from here on an outage is retried
                // (with backoff, reported in STATUS) for as long as it lasts.
                let connection: PostgresConnection
                if let existing = open, existing.isConnected {
                    connection = existing
                } else {
                    if let stale = open { await stale.close() }
                    open = nil
                    connection = try await connect(first: false)
                    open = connection
                }
                if backoff.attempt > 0 {
                    logger.info("PostgreSQL reachable again; continuing", metadata: metadata)
                    stats.setOutage(nil)
                    stats.recordDatabaseReconnect()
                    backoff.reset()
                }
                let after = progress.lastDispatched
                let sql = "SELECT * FROM \(quoteIdentifier(table.table))"
                    + (after == nil ? "" : " WHERE \(quoteIdentifier(table.keyColumn)) > $1")
                    + " ORDER BY \(quoteIdentifier(table.keyColumn))"
                var encoder: PostgresRowEncoder?
                var value: [UInt8] = []
                value.reserveCapacity(4096)
                var keyBuffer: [UInt8] = []
                keyBuffer.reserveCapacity(32)
                let header = source.tableHeader ? [KafkaHeader(key: "pinpipe.table", value: Array(table.table.utf8))] : []
                var rows = 0
                var chunk = KafkaProduceBatch()
                for try await batch in connection.stream(sql, after.map { [String($0)] } ?? [], fetchSize: source.fetchSize) {
                    if shutdown.isTriggered { return }
                    if encoder == nil {
                        encoder = try PostgresRowEncoder(columns: batch.columns, keyColumn: table.keyColumn)
                        if !reportedFallback, let fallback = encoder?.textFallbackColumns, !fallback.isEmpty {
                            reportedFallback = true
                            let list = fallback.map { "\($0.name) (type oid \($0.typeOID))" }.joined(separator: ", ")
                            logger.warning("Columns of unsupported types are encoded as their text: \(list)",
                                           metadata: metadata)
                        }
                    }
                    let encoder = encoder!
                    if header.isEmpty {
                        // Without headers rows go to librdkafka in chunks (`produceChunks`), which counts what it
                        // produced itself (chunk by chunk, also when a chunk fails).
                        try await produceChunks(batch, encoder: encoder, route: route, progress: progress,
                                                transaction: transactions.map { ($0, generation, table) },
                                                into: &chunk, keyless: &keyless, metadata: metadata)
                        rows += batch.count
                        stats.recordRowsRead(batch.count, table: table.name)
                    } else {
                        stats.recordRowsRead(batch.count, table: table.name)
                        // Counted as produced row by row: a failure part way through the batch counts what went.
                        var produced = 0
                        defer { stats.recordProduced(produced, topic: topic) }
                        for row in 0..<batch.count {
                            value.removeAll(keepingCapacity: true)
                            encoder.encodeValue(batch, row: row, into: &value)
                            keyBuffer.removeAll(keepingCapacity: true)
                            let key = encoder.encodeKey(batch, row: row, into: &keyBuffer) ? keyBuffer : nil
                            let number = encoder.keyValue(batch, row: row)
                            if number == nil { keyless.note(logger: logger, metadata: metadata) }
                            if let transactions {
                                try await produceInTransaction(
                                    transactions, generation: generation, table: table, key: number,
                                    progress: progress) { () async throws(KafkaError) in
                                    try await self.produceRow(topic: topic, key: key, value: value, headers: header,
                                                            acknowledged: acknowledged,
                                                            onDelivery: self.transactionalDelivery(transactions))
                                }
                            } else {
                                let sequence = number.map { progress.dispatch(key: $0) }
                                try await produceRow(route: route, token: sequence ?? TableDeliveries.untracked, key: key,
                                                     value: value, headers: header)
                            }
                            rows += 1
                            produced += 1
                        }
                    }
                    liveness.beat()
                    await hooks.hangIfRequested(actor: Self.actorName, startedAt: started)
                    if let failure = progress.takeFailure() { throw failure }
                }
                if let failure = progress.takeFailure() { throw failure }
                keyless.finish(table: table.name, stats: stats, logger: logger, metadata: metadata)
                if let transactions, rows > 0 {
                    // Done only once the rows are committed: an abort now must re-read them.
                    try await liveness.whileWaiting { try await transactions.waitUntilCommitted(generation: generation) }
                }
                if !snapshotDone {
                    snapshotDone = true
                    metadata[LogKey.records] = "\(rows)"
                    logger.info("Snapshot of table read", metadata: metadata)
                } else if rows > 0 {
                    logger.info("Follow: new rows produced", metadata: metadata.merging([LogKey.records: "\(rows)"]) { $1 })
                }
                guard source.mode == .follow else { return }
                await hooks.hangIfRequested(actor: Self.actorName, startedAt: started)
                if await liveness.sleep(for: source.pollInterval, or: shutdown) { return }
            } catch let error as PostgresError where error.isRetriable {
                if let broken = open { await broken.close() }
                open = nil
                let wait = backoff.next()
                stats.setOutage("PostgreSQL: \(error)")
                stats.recordError("\(error)")
                logger.warning("PostgreSQL unavailable; retrying in \(wait)", metadata: metadata.merging(
                    [LogKey.error: "\(error)"]) { $1 })
                if await liveness.sleep(for: wait, or: shutdown) { return }
            } catch is TransactionRewind {
                // The transaction holding this table's latest rows was aborted: read on from the committed key.
                if let abandoned = open { await abandoned.close() }
                open = nil
                generation = transactions?.generation ?? 0
                progress.rewind(to: transactions?.committed[table.name]?.key)
                logger.info("Re-reading from the last committed position", metadata: metadata.merging(
                    [LogKey.key: "\(progress.lastDispatched.map(String.init) ?? "start")"]) { $1 })
            } catch let error as KafkaError where !error.isFatal && transactions == nil {
                // A delivery failed after librdkafka's own retries: wait for what is in flight, then re-send from
                // the acknowledged checkpoint (at-least-once; never a gap).
                stats.recordError("\(error)")
                logger.warning("Kafka delivery failed; re-sending from the checkpoint", metadata: metadata.merging(
                    [LogKey.error: "\(error)"]) { $1 })
                // The stream was left mid-cursor: start the re-send on a new connection.
                if let abandoned = open { await abandoned.close() }
                open = nil
                await flush()
                // From the acknowledged position: also when the error came from enqueueing (rows dispatched but
                // never handed to librdkafka would otherwise hold the checkpoint back and be skipped by the re-read).
                progress.restartFromCheckpoint()
                if await liveness.sleep(for: backoff.next(), or: shutdown) { return }
            }
        }
    }

    /// Produces one record; waiting for acknowledgements (a slow or absent broker) is an outage, not a hang.
    /// `acknowledged`: the topic's counter when the caller resolved it already (per record, the lookup shows).
    func produceRow(topic: String, partition: Int32? = nil, key: [UInt8]?, value: [UInt8], headers: [KafkaHeader],
                    acknowledged counter: CoreMetrics.Counter? = nil,
                    onDelivery: @escaping @Sendable (Result<KafkaDeliveryReport, KafkaError>) -> Void)
        async throws(KafkaError)
    {
        let acknowledged = counter ?? stats.acknowledgedCounter(topic: topic)
        let callback: @Sendable (Result<KafkaDeliveryReport, KafkaError>) -> Void = { result in
            if case .success = result { acknowledged.increment() }
            onDelivery(result)
        }
        try await waitingForRoom { () async throws(KafkaError) in
            try await producer.produce(topic: topic, partition: partition, key: key, value: value, headers: headers,
                                       onDelivery: callback)
        }
    }

    /// `produceRow` through a route: the delivery report goes to the route's receiver with `token`.
    func produceRow(route: KafkaDeliveryRoute, token: Int, key: [UInt8]?, value: [UInt8], headers: [KafkaHeader])
        async throws(KafkaError)
    {
        try await waitingForRoom { () async throws(KafkaError) in
            try await producer.produce(route: route, token: token, key: key, value: value, headers: headers)
        }
    }

    /// Enqueues one record; when the in-flight window is full that waits for acknowledgements (a slow or absent
    /// broker), which beats the heartbeat as an outage rather than looking like a hang.
    private func waitingForRoom(_ enqueue: () async throws(KafkaError) -> Void) async throws(KafkaError) {
        if producer.isWindowFull {
            try await liveness.whileWaiting(enqueue)
        } else {
            try await enqueue()
        }
    }

    /// Rows of one fetched batch per chunk of `Self.chunkRows`: each row's key and value are encoded straight into
    /// the chunk's buffer and the chunk goes to librdkafka in one call, so a row costs no call into the producer
    /// of its own. Waiting for the window (a slow or absent broker) is an outage, not a hang.
    /// With `transaction` (exactly once) each chunk is admitted into the open transaction as a whole and released
    /// with the table's position after its last row (`produceInTransaction`); chunks are then at most
    /// `kafka.transaction.max_records` rows, so a transaction never holds more rows than that because of them.
    func produceChunks(_ batch: PostgresRowBatch, encoder: PostgresRowEncoder, route: KafkaDeliveryRoute,
                       progress: TableProgress,
                       transaction: (coordinator: TransactionCoordinator, generation: Int, table: TableSource)?,
                       into chunk: inout KafkaProduceBatch, keyless: inout KeylessRows, metadata: Logger.Metadata)
        async throws
    {
        let chunkRows = transaction == nil ? Self.chunkRows : max(1, min(Self.chunkRows, configuration.kafka.transaction.maxRecords))
        var row = 0
        while row < batch.count {
            chunk.removeAll()
            let end = min(batch.count, row + chunkRows)
            var lastKey: Int64?
            while row < end {
                let number = encoder.keyValue(batch, row: row)
                if number == nil { keyless.note(logger: logger, metadata: metadata) }
                let token: Int
                if transaction == nil {
                    token = number.map { progress.dispatch(key: $0) } ?? TableDeliveries.untracked
                } else {
                    token = 0  // exactly once: the transaction, not the delivery report, moves the position
                    if let number { lastKey = number }
                }
                chunk.append(token: token, key: { encoder.encodeKey(batch, row: row, into: &$0) },
                             value: { encoder.encodeValue(batch, row: row, into: &$0) })
                row += 1
            }
            let records = chunk
            var enqueued = 0
            defer { stats.recordProduced(enqueued, topic: route.topic) }
            let send = { () async throws(KafkaError) in
                try await self.liveness.whileWaiting { () async throws(KafkaError) in
                    try await self.producer.produce(route: route, batch: records, enqueued: &enqueued)
                }
            }
            if let transaction {
                try await produceInTransaction(
                    transaction.coordinator, generation: transaction.generation, table: transaction.table,
                    key: lastKey, progress: progress, rows: records.count, send)
            } else {
                try await send()
            }
        }
    }

    /// Rows per `produce(route:batch:)` call: large enough to spread the call's cost, small next to the window.
    static let chunkRows = 1000

    /// Connects; at start-up a bounded number of attempts (a wrong host fails fast), later forever.
    func connect(first: Bool) async throws -> PostgresConnection {
        let policy = RetryPolicy(initialDelay: source.reconnect.initialDelay, maxDelay: source.reconnect.maxDelay,
                                         maxAttempts: first ? source.reconnect.startupAttempts : 1)
        return try await PostgresConnection.connect(database, retry: policy, logger: logger)
    }

    func quoteIdentifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
