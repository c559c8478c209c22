import Kafka
import Logging
import PipelineConfig
import Postgres
import Support

extension SourceProducer {
    /// The original emulator: per event, sleep 0 or 1 s (or pace at `rate`), draw one offset, read the row at that
    /// offset from each table and produce the three rows.
    func emulate(started: ContinuousClock.Instant) async throws {
        let settings = source.emulate
        var random = EmulatorRandom(seed: settings.seed ?? UInt32.random(in: 0...UInt32.max))
        var backoff = Backoff(initial: source.reconnect.initialDelay, maximum: source.reconnect.maxDelay)
        var connection: PostgresConnection? = try await connect(first: true)
        var encoders: [String: PostgresRowEncoder] = [:]
        var events = 0
        var pending: (sleepSeconds: Int, offset: Int)?
        logger.info("Emulating the original user posting loop", metadata: [
            "seed": "\(settings.seed.map(String.init) ?? "random")", "limit": "\(settings.limit.map(String.init) ?? "none")",
        ])
        defer { if let connection { Task { await connection.close() } } }
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
                    try await liveness.whileWaiting { () async throws(KafkaError) in
                        try await producer.produce(
                            topic: configuration.kafka.topic(for: table), key: encoder.encodeKey(batch, row: 0),
                            value: value, headers: [KafkaHeader(key: "pinpipe.table", value: Array(table.table.utf8))]
                        ) { result in
                            if case .success = result { self.stats.acknowledged.add(1, ordering: .relaxed) }
                            if case .failure(let error) = result { self.stats.recordError("\(error)") }
                        }
                    }
                    stats.produced.add(1, ordering: .relaxed)
                    stats.rowsRead.add(1, ordering: .relaxed)
                }
                pending = nil
                events += 1
                if backoff.attempt > 0 { stats.setOutage(nil); backoff.reset() }
            } catch let error as PostgresError where error.isRetriable {
                connection = nil
                let wait = backoff.next()
                stats.setOutage("PostgreSQL: \(error)")
                logger.warning("PostgreSQL unavailable; retrying in \(wait)", metadata: [LogKey.error: "\(error)"])
                if await liveness.sleep(for: wait, or: shutdown) { break }
            }
        }
        try await producer.flush(timeout: .seconds(120))
        logger.info("Emulation stopped", metadata: ["events": "\(events)"])
    }
}
