import Kafka
import Logging
import PipelineConfig
import Postgres
import Support

extension SourceProducer {
    /// The original emulator: per event, sleep 0 or 1 s (or pace at `rate`), draw one offset, read the row at that
    /// offset from each table and produce the three rows. Exactly-once: each event's rows go into one
    /// transaction with the number of events so far and the seed, so a restart draws the sequence on.
    func emulate(started: ContinuousClock.Instant) async throws {
        guard configuration.kafka.exactlyOnce else {
            try await emulateEvents(started: started, transactions: nil, resume: nil)
            try await producer.flush(timeout: .seconds(120))
            return
        }
        try await withTransactions { coordinator, positions in
            try await self.emulateEvents(started: started, transactions: coordinator, resume: positions)
        }
    }

    /// Where a restarted emulator continues: the seed it used and the events already committed.
    private func resumePoint(_ positions: [String: SourcePosition]?) -> (seed: UInt32, events: Int) {
        let configured = source.emulate.seed
        let stored = positions?.values.filter { $0.mode == "emulate" }.max { ($0.events ?? 0) < ($1.events ?? 0) }
        if let stored, let seed = stored.seed, configured == nil || configured == seed {
            return (seed, stored.events ?? 0)
        }
        if let stored {
            logger.warning("emulate.seed changed since the committed position; starting the sequence anew",
                           metadata: ["position": "\(stored)"])
        }
        return (configured ?? UInt32.random(in: 0...UInt32.max), 0)
    }

    private func emulateEvents(started: ContinuousClock.Instant, transactions: TransactionCoordinator?,
                               resume: [String: SourcePosition]?) async throws {
        // The connection is closed here, whatever way the emulation ends, before this returns.
        var connection: PostgresConnection? = try await connect(first: true)
        do {
            try await emulateEvents(started: started, transactions: transactions, resume: resume, over: &connection)
        } catch {
            await connection?.close()
            throw error
        }
        await connection?.close()
    }

    private func emulateEvents(started: ContinuousClock.Instant, transactions: TransactionCoordinator?,
                               resume: [String: SourcePosition]?, over connection: inout PostgresConnection?)
        async throws
    {
        let settings = source.emulate
        let start = resumePoint(resume)
        let seed = start.seed
        var events = start.events
        var random = EmulatorRandom(seed: seed)
        for _ in 0..<events { _ = random.nextEvent(maxKey: settings.maxKey) }
        var generation = transactions?.generation ?? 0
        var backoff = Backoff(initial: source.reconnect.initialDelay, maximum: source.reconnect.maxDelay)
        var encoders: [String: PostgresRowEncoder] = [:]
        var pending: (sleepSeconds: Int, offset: Int)?
        logger.info("Emulating the original user posting loop", metadata: [
            "seed": "\(seed)", "limit": "\(settings.limit.map(String.init) ?? "none")", "resumed_after_events": "\(events)",
        ])
        while !shutdown.isTriggered {
            if let limit = settings.limit, events >= limit { break }
            liveness.beat()
            await hooks.hangIfRequested(actor: Self.actorName, startedAt: started)
            let event = pending ?? random.nextEvent(maxKey: settings.maxKey)
            pending = event
            let pause: Duration = settings.rate.map { .seconds(1.0 / $0) } ?? .seconds(event.sleepSeconds)
            if pause > .zero, await liveness.sleep(for: pause, or: shutdown) { break }
            do {
                let live = try await { () async throws -> PostgresConnection in
                    if let connection, connection.isConnected { return connection }
                    let fresh = try await connect(first: false)
                    connection = fresh
                    return fresh
                }()
                var rows: [(table: TableSource, key: [UInt8]?, value: [UInt8])] = []
                for table in source.tables {
                    let sql = "SELECT * FROM \(quoteIdentifier(table.table)) ORDER BY \(quoteIdentifier(table.keyColumn))"
                        + " OFFSET $1 LIMIT 1"
                    let batch = try await live.query(sql, [String(event.offset)])
                    guard batch.count == 1 else {
                        logger.debug("No row at offset \(event.offset)", metadata: [LogKey.table: "\(table.table)"])
                        continue
                    }
                    let encoder = try encoders[table.name] ?? PostgresRowEncoder(columns: batch.columns,
                                                                                  keyColumn: table.keyColumn)
                    encoders[table.name] = encoder
                    var value: [UInt8] = []
                    encoder.encodeValue(batch, row: 0, into: &value)
                    rows.append((table, encoder.encodeKey(batch, row: 0), value))
                }
                if let transactions {
                    try await transactions.admit(rows: max(1, rows.count), generation: generation)
                    do {
                        try await produceEvent(rows, onDelivery: transactionalDelivery(transactions))
                    } catch {
                        transactions.release(positions: nil)
                        if error.isFatal { throw error }
                        try await transactions.waitForRewind(generation: generation)
                    }
                    let position = SourcePosition(mode: "emulate", key: Int64(event.offset), events: events + 1,
                                                  seed: seed)
                    transactions.release(positions: Dictionary(uniqueKeysWithValues: source.tables.map {
                        ($0.name, position)
                    }))
                } else {
                    try await produceEvent(rows) { result in
                        if case .failure(let error) = result { self.stats.recordError("\(error)") }
                    }
                }
                for row in rows {
                    stats.recordRowsRead(1, table: row.table.name)
                    stats.recordProduced(1, topic: configuration.kafka.topic(for: row.table))
                }
                pending = nil
                events += 1
                if backoff.attempt > 0 { stats.setOutage(nil); stats.recordDatabaseReconnect(); backoff.reset() }
            } catch let error as PostgresError where error.isRetriable {
                await connection?.close()
                connection = nil
                let wait = backoff.next()
                stats.setOutage("PostgreSQL: \(error)")
                logger.warning("PostgreSQL unavailable; retrying in \(wait)", metadata: [LogKey.error: "\(error)"])
                if await liveness.sleep(for: wait, or: shutdown) { break }
            } catch is TransactionRewind {
                // The aborted transaction held events after the committed count: draw the sequence again from there.
                let committed = transactions?.committed.values.compactMap(\.events).max() ?? 0
                logger.info("Emulator rewinds to the last committed event", metadata: ["events": "\(committed)"])
                random = EmulatorRandom(seed: seed)
                for _ in 0..<committed { _ = random.nextEvent(maxKey: settings.maxKey) }
                events = committed
                pending = nil
                generation = transactions?.generation ?? 0
            }
        }
        logger.info("Emulation stopped", metadata: ["events": "\(events)"])
    }

    private func produceEvent(_ rows: [(table: TableSource, key: [UInt8]?, value: [UInt8])],
                              onDelivery: @escaping @Sendable (Result<KafkaDeliveryReport, KafkaError>) -> Void)
        async throws(KafkaError)
    {
        for row in rows {
            try await produceRow(topic: configuration.kafka.topic(for: row.table), key: row.key, value: row.value,
                                 headers: source.tableHeader
                                     ? [KafkaHeader(key: "pinpipe.table", value: Array(row.table.table.utf8))] : [],
                                 onDelivery: onDelivery)
        }
    }
}
