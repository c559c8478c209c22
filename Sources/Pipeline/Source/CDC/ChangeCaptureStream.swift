import Foundation
import Kafka
import Logging
import PipelineConfig
import Postgres
import Synchronization
import Support

/// `source.mode: cdc`: a consistent snapshot of the tables, then every change from PostgreSQL's logical
/// replication (pgoutput), at least once into Kafka.
///
/// The hand-off: the permanent slot (made by `pinpipe cdc setup`, or here when missing) exists before a temporary
/// slot exports a snapshot at its consistent point T. The snapshot is read inside that snapshot (`op r`, lsn T);
/// the permanent slot's stream then skips every transaction that committed before T (those are in the snapshot)
/// and sends every one after it. So no change is missed or doubled between snapshot and stream.
///
/// The slot's confirmed flush position moves only past transactions whose records Kafka acknowledged; after a
/// crash the server streams again from there, and a re-sent change carries the same `pinpipe.lsn`.
struct ChangeCaptureStream {
    let source: SourceProducer

    var configuration: PinpipeConfiguration { source.configuration }
    var logger: Logger { source.logger }
    var slot: String { configuration.cdcSlot }
    var publication: String { configuration.cdcPublication }

    func run(started: ContinuousClock.Instant) async throws {
        var backoff = Backoff(initial: configuration.source.reconnect.initialDelay, maximum: configuration.source.reconnect.maxDelay)
        while !source.shutdown.isTriggered {
            do {
                let snapshotPoint = try await ensureSnapshot()
                let caughtUp = try await stream(skipBefore: snapshotPoint, started: started, backoff: &backoff)
                if caughtUp { return }
            } catch let error as PostgresError where error.isRetriable {
                source.stats.setOutage("PostgreSQL: \(error)")
                source.stats.recordError("\(error)")
                let wait = backoff.next()
                logger.warning("PostgreSQL replication unavailable; resuming from the slot in \(wait)",
                               metadata: [LogKey.error: "\(error)", "cdc.slot": "\(slot)"])
                if await source.liveness.sleep(for: wait, or: source.shutdown) { return }
            } catch let error as KafkaError where !error.isFatal {
                // A delivery failed after librdkafka's retries: what was not confirmed is streamed again.
                source.stats.recordError("\(error)")
                logger.warning("Kafka delivery failed; streaming again from the confirmed position",
                               metadata: [LogKey.error: "\(error)", "cdc.slot": "\(slot)"])
                await source.flush()
                if await source.liveness.sleep(for: backoff.next(), or: source.shutdown) { return }
            }
        }
    }

    // MARK: the snapshot

    var markerURL: URL {
        URL(fileURLWithPath: configuration.stateDirectory).appendingPathComponent("cdc-\(slot).json")
    }

    /// The snapshot's consistent point: read from the marker when the snapshot was delivered before, else taken
    /// now.
    func ensureSnapshot() async throws -> PostgresLSN {
        try await Self.using(try await source.connect(first: false)) { try await ensureSnapshot(admin: $0) }
    }

    /// Runs `body` with `connection`, then closes it (also when `body` throws).
    static func using<T>(_ connection: PostgresConnection, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        do {
            let result = try await body(connection)
            await connection.close()
            return result
        } catch {
            await connection.close()
            throw error
        }
    }

    private func ensureSnapshot(admin: PostgresConnection) async throws -> PostgresLSN {
        let exists = try await admin.query("SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1", [slot])
            .string(row: 0, column: 0) == "1"
        if exists, let data = try? Data(contentsOf: markerURL),
           let marker = try? JSONDecoder().decode(Marker.self, from: data), marker.slot == slot,
           let point = PostgresLSN(marker.snapshotLSN) {
            return point
        }
        var parameters = source.database
        parameters.replication = true
        if !exists {
            let creator = try await PostgresConnection.connect(parameters, logger: logger)
            _ = try await creator.createReplicationSlot(slot, exportSnapshot: false)
            await creator.close()
            logger.notice("Replication slot created", metadata: ["cdc.slot": "\(slot)"])
        }
        // A temporary slot exports the snapshot; it disappears with its connection.
        let exporter = try await PostgresConnection.connect(parameters, logger: logger)
        return try await Self.using(exporter) { try await snapshot(admin: admin, exporter: $0) }
    }

    /// Reads the tables inside the snapshot a temporary slot on `exporter` exports, and records its point.
    private func snapshot(admin: PostgresConnection, exporter: PostgresConnection) async throws -> PostgresLSN {
        let temporary = try await exporter.createReplicationSlot(
            String("\(slot)_snapshot_\(getpid())".prefix(63)), exportSnapshot: true, temporary: true)
        guard let snapshot = temporary.snapshotName else {
            throw PostgresError(code: .protocolViolation, message: "the server exported no snapshot for the temporary slot")
        }
        let point = temporary.consistentPoint
        logger.info("CDC snapshot starting", metadata: ["cdc.slot": "\(slot)", "cdc.snapshot_lsn": "\(point)"])
        try await admin.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try await admin.execute("SET TRANSACTION SNAPSHOT '\(snapshot)'")
        let headers = { (table: TableSource) in Self.headers(op: "r", lsn: point, commitTime: Int64(Date().timeIntervalSince1970 * 1000), table: table) }
        let failure = Mutex<KafkaError?>(nil)
        for table in configuration.source.tables {
            let topic = configuration.kafka.topic(for: table)
            let tableHeaders = headers(table)
            var encoder: PostgresRowEncoder?
            var value: [UInt8] = []
            var rows = 0
            let sql = "SELECT * FROM \(source.quoteIdentifier(table.table)) ORDER BY \(source.quoteIdentifier(table.keyColumn))"
            for try await batch in admin.stream(sql, fetchSize: configuration.source.fetchSize) {
                if source.shutdown.isTriggered { throw CancellationError() }
                if encoder == nil { encoder = try PostgresRowEncoder(columns: batch.columns, keyColumn: table.keyColumn) }
                for row in 0..<batch.count {
                    value.removeAll(keepingCapacity: true)
                    encoder!.encodeValue(batch, row: row, into: &value)
                    try await source.produceRow(topic: topic, key: encoder!.encodeKey(batch, row: row), value: value,
                                                headers: tableHeaders) { result in
                        if case .failure(let error) = result { failure.withLock { $0 = $0 ?? error } }
                    }
                }
                rows += batch.count
                source.stats.recordRowsRead(batch.count, table: table.name)
                source.stats.recordProduced(batch.count, topic: topic)
                source.stats.recordChanges(batch.count, op: "r")
                source.liveness.beat()
            }
            logger.info("CDC snapshot of table read", metadata: [LogKey.table: "\(table.table)", LogKey.records: "\(rows)"])
        }
        try await admin.execute("COMMIT")
        try await source.liveness.whileWaiting { () async throws(KafkaError) in
            try await source.producer.flush(timeout: .seconds(120))
        }
        // A failed delivery means the snapshot is taken again (at least once), never that a row is skipped.
        if let error = failure.withLock({ $0 }) { throw error }
        try FileManager.default.createDirectory(atPath: configuration.stateDirectory, withIntermediateDirectories: true)
        let data = try JSONEncoder().encode(Marker(slot: slot, snapshotLSN: point.description))
        try data.write(to: markerURL, options: .atomic)
        logger.notice("CDC snapshot delivered; streaming changes", metadata: ["cdc.slot": "\(slot)", "cdc.snapshot_lsn": "\(point)"])
        return point
    }

    struct Marker: Codable {
        var slot: String
        var snapshotLSN: String
    }

    static func headers(op: String, lsn: PostgresLSN, commitTime: Int64, table: TableSource) -> [KafkaHeader] {
        [KafkaHeader(key: "pinpipe.table", value: Array(table.table.utf8)),
         KafkaHeader(key: "pinpipe.op", value: Array(op.utf8)),
         KafkaHeader(key: "pinpipe.lsn", value: Array(lsn.description.utf8)),
         KafkaHeader(key: "pinpipe.commit_ts", value: Array(String(commitTime).utf8))]
    }
}
