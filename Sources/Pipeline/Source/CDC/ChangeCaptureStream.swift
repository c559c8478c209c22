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
        // Exactly-once: records and position in one Kafka transaction (the first start after at-least-once runs
        // takes the snapshot's coverage from the marker).
        let transactions: ChangeCaptureTransactions? = configuration.kafka.exactlyOnce
            ? try await ChangeCaptureTransactions.start(source: source, slot: slot) {
                markerPosition() ?? ChangeCapturePosition(slot: slot)
            }
            : nil
        var backoff = Backoff(initial: configuration.source.reconnect.initialDelay, maximum: configuration.source.reconnect.maxDelay)
        while !source.shutdown.isTriggered {
            do {
                let coverage = try await ensureSnapshot(transactions)
                let caughtUp = try await stream(coverage: coverage, transactions: transactions, started: started,
                                                backoff: &backoff)
                if caughtUp { return }
            } catch let rewind as ChangeCaptureRewind {
                source.stats.recordError("\(rewind)")
                if await source.liveness.sleep(for: backoff.next(), or: source.shutdown) { return }
            } catch let error as PostgresError where error.isRetriable {
                source.stats.setOutage("PostgreSQL: \(error)")
                source.stats.recordError("\(error)")
                try await transactions?.rewind(because: "PostgreSQL: \(error)")
                let wait = backoff.next()
                logger.warning("PostgreSQL replication unavailable; resuming from the slot in \(wait)",
                               metadata: [LogKey.error: "\(error)", "cdc.slot": "\(slot)"])
                if await source.liveness.sleep(for: wait, or: source.shutdown) { return }
            } catch let error as KafkaError where !error.isFatal {
                // A delivery failed after librdkafka's retries: what was not confirmed is streamed again.
                source.stats.recordError("\(error)")
                logger.warning("Kafka delivery failed; streaming again from the confirmed position",
                               metadata: [LogKey.error: "\(error)", "cdc.slot": "\(slot)"])
                if let transactions {
                    try await transactions.rewind(because: "\(error)")
                } else {
                    await source.flush()
                }
                if await source.liveness.sleep(for: backoff.next(), or: source.shutdown) { return }
            }
        }
        if let transactions {
            logger.info("Exactly-once CDC: transactions done", metadata: [
                "commits": "\(transactions.commits.load(ordering: .relaxed))",
                "aborts": "\(transactions.aborts.load(ordering: .relaxed))",
                "position": "\(transactions.committed)",
            ])
        }
    }

    // MARK: the snapshot

    var markerURL: URL {
        URL(fileURLWithPath: configuration.stateDirectory).appendingPathComponent("cdc-\(slot).json")
    }

    /// At least once, the state directory keeps the snapshot's point: written as the snapshot starts, and marked
    /// delivered once its rows are acknowledged. A snapshot taken again after a crash keeps the earliest point
    /// (`earliestLSN`): Kafka may hold rows read at that point, so the stream must send every change after it.
    struct Marker: Codable {
        var slot: String
        var snapshotLSN: String
        var earliestLSN: String?
        var delivered: Bool?

        /// Where the stream starts sending changes.
        var streamFrom: PostgresLSN? { PostgresLSN(earliestLSN ?? snapshotLSN) }
    }

    func readMarker() -> Marker? {
        guard let data = try? Data(contentsOf: markerURL),
              let marker = try? JSONDecoder().decode(Marker.self, from: data), marker.slot == slot else { return nil }
        return marker
    }

    func writeMarker(_ marker: Marker) throws {
        try FileManager.default.createDirectory(atPath: configuration.stateDirectory, withIntermediateDirectories: true)
        try JSONEncoder().encode(marker).write(to: markerURL, options: .atomic)
    }

    /// The coverage of the delivered snapshot the marker records: every table from its earliest point.
    func markerPosition() -> ChangeCapturePosition? {
        guard let marker = readMarker(), marker.delivered ?? true, let point = marker.streamFrom else { return nil }
        var position = ChangeCapturePosition(slot: slot)
        for table in configuration.source.tables {
            position.openSegment(table: table.name, after: nil, point: point)
            position.closeSegment()
        }
        position.snapshotDone = true
        return position
    }

    /// Which snapshot read which rows: from the committed position (exactly once) or the marker, after taking
    /// the snapshot (or its rest) when it is not complete.
    func ensureSnapshot(_ transactions: ChangeCaptureTransactions?) async throws -> ChangeCapturePosition {
        try await Self.using(try await source.connect(first: false)) { try await ensureSnapshot(admin: $0, transactions) }
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

    private func ensureSnapshot(admin: PostgresConnection, _ transactions: ChangeCaptureTransactions?) async throws -> ChangeCapturePosition {
        let exists = try await admin.query("SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1", [slot])
            .string(row: 0, column: 0) == "1"
        if exists {
            if let transactions {
                if transactions.position.snapshotDone { return transactions.position }
            } else if let position = markerPosition() {
                return position
            }
        }
        var parameters = source.database
        parameters.replication = true
        if !exists {
            let creator = try await PostgresConnection.connect(parameters, logger: logger)
            _ = try await creator.createReplicationSlot(slot, exportSnapshot: false)
            await creator.close()
            logger.notice("Replication slot created", metadata: ["cdc.slot": "\(slot)"])
            // What an earlier slot of this name streamed has nothing to do with the new one.
            try? FileManager.default.removeItem(at: markerURL)
            if let transactions, !transactions.position.segments.isEmpty {
                // The slot was dropped: what it held back is gone, so the capture starts over with a new snapshot.
                logger.warning("The replication slot was missing; taking a new snapshot of every table", metadata: [
                    "cdc.slot": "\(slot)", "position": "\(transactions.position)"])
                transactions.update { $0 = ChangeCapturePosition(slot: slot) }
            }
        }
        // A temporary slot exports the snapshot; it disappears with its connection.
        let exporter = try await PostgresConnection.connect(parameters, logger: logger)
        return try await Self.using(exporter) { try await snapshot(admin: admin, exporter: $0, transactions) }
    }

    /// Reads the tables (or, exactly once after a crash, the rows no earlier snapshot read) inside the snapshot a
    /// temporary slot on `exporter` exports; returns the coverage.
    private func snapshot(admin: PostgresConnection, exporter: PostgresConnection,
                          _ transactions: ChangeCaptureTransactions?) async throws -> ChangeCapturePosition {
        let temporary = try await exporter.createReplicationSlot(
            String("\(slot)_snapshot_\(getpid())".prefix(63)), exportSnapshot: true, temporary: true)
        guard let snapshot = temporary.snapshotName else {
            throw PostgresError(code: .protocolViolation, message: "the server exported no snapshot for the temporary slot")
        }
        let point = temporary.consistentPoint
        var position = transactions?.position ?? ChangeCapturePosition(slot: slot)
        var marker = Marker(slot: slot, snapshotLSN: point.description, earliestLSN: point.description, delivered: false)
        if transactions == nil {
            if let earlier = readMarker()?.streamFrom, earlier < point { marker.earliestLSN = earlier.description }
            try writeMarker(marker)
        }
        logger.info("CDC snapshot starting", metadata: ["cdc.slot": "\(slot)", "cdc.snapshot_lsn": "\(point)",
                                                        "cdc.earlier_segments": "\(position.segments.count)"])
        try await admin.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try await admin.execute("SET TRANSACTION SNAPSHOT '\(snapshot)'")
        let failure = Mutex<KafkaError?>(nil)
        let onDelivery: @Sendable (Result<KafkaDeliveryReport, KafkaError>) -> Void = { [transactions] result in
            if let transactions {
                transactions.delivered(result)
            } else if case .failure(let error) = result {
                failure.withLock { $0 = $0 ?? error }
            }
        }
        for table in configuration.source.tables {
            let after: Int64?
            switch position.coverage(of: table.name) {
            case .all: continue
            case .none: after = nil
            case .through(let key): after = key
            }
            position.openSegment(table: table.name, after: after, point: point)
            transactions?.update { $0.openSegment(table: table.name, after: after, point: point) }
            let topic = configuration.kafka.topic(for: table)
            let headers = Self.headers(op: "r", lsn: point, commitTime: Int64(Date().timeIntervalSince1970 * 1000),
                                       table: tableHeader(table))
            var encoder: PostgresRowEncoder?
            var value: [UInt8] = []
            var rows = 0
            let key = source.quoteIdentifier(table.keyColumn)
            let sql = "SELECT * FROM \(source.quoteIdentifier(table.table))"
                + (after.map { " WHERE \(key) > \($0)" } ?? "") + " ORDER BY \(key)"
            for try await batch in admin.stream(sql, fetchSize: configuration.source.fetchSize) {
                if source.shutdown.isTriggered {
                    // What is produced is described by the open position: commit it, the rest comes next time.
                    try await transactions?.commit()
                    throw CancellationError()
                }
                if encoder == nil { encoder = try PostgresRowEncoder(columns: batch.columns, keyColumn: table.keyColumn) }
                for row in 0..<batch.count {
                    if let transactions, transactions.isDue { try await transactions.commit() }
                    value.removeAll(keepingCapacity: true)
                    encoder!.encodeValue(batch, row: row, into: &value)
                    try await source.produceRow(topic: topic, key: encoder!.encodeKey(batch, row: row), value: value,
                                                headers: headers, onDelivery: onDelivery)
                    if let transactions, let reached = encoder!.keyValue(batch, row: row) {
                        transactions.added { $0.extendSegment(through: reached) }
                    }
                }
                rows += batch.count
                source.stats.recordRowsRead(batch.count, table: table.name)
                source.stats.recordProduced(batch.count, topic: topic)
                source.stats.recordChanges(batch.count, op: "r")
                source.liveness.beat()
            }
            position.closeSegment()
            transactions?.update { $0.closeSegment() }
            logger.info("CDC snapshot of table read", metadata: [LogKey.table: "\(table.table)", LogKey.records: "\(rows)"])
        }
        try await admin.execute("COMMIT")
        position.snapshotDone = true
        if let transactions {
            transactions.update { $0.snapshotDone = true }
            try await transactions.commit()
        } else {
            try await source.liveness.whileWaiting { () async throws(KafkaError) in
                try await source.producer.flush(timeout: .seconds(120))
            }
            // A failed delivery means the snapshot is taken again (at least once), never that a row is skipped.
            if let error = failure.withLock({ $0 }) { throw error }
            marker.delivered = true
            try writeMarker(marker)
            position = markerPosition() ?? position
        }
        logger.notice("CDC snapshot delivered; streaming changes", metadata: ["cdc.slot": "\(slot)", "cdc.snapshot_lsn": "\(point)"])
        return transactions?.committed ?? position
    }

    static func headers(op: String, lsn: PostgresLSN, commitTime: Int64, table: KafkaHeader?) -> [KafkaHeader] {
        headers(table: table, op: op, lsn: lsn, commit: commitHeader(commitTime))
    }

    /// A record's headers from the parts that stay the same for a table and a transaction (made once each):
    /// `pinpipe.op`, `pinpipe.lsn`, `pinpipe.commit_ts`, and `pinpipe.table` when `source.table_header` asks for it.
    static func headers(table: KafkaHeader?, op: String, lsn: PostgresLSN, commit: KafkaHeader) -> [KafkaHeader] {
        var headers = [opHeaders[op] ?? KafkaHeader(key: "pinpipe.op", value: Array(op.utf8)),
                       KafkaHeader(key: "pinpipe.lsn", value: lsn.utf8), commit]
        if let table { headers.append(table) }
        return headers
    }

    /// The `pinpipe.table` header when `source.table_header` is on (librdkafka allocates per header: off by default).
    func tableHeader(_ table: TableSource) -> KafkaHeader? {
        guard configuration.source.tableHeader else { return nil }
        return KafkaHeader(key: "pinpipe.table", value: Array(table.table.utf8))
    }

    static func commitHeader(_ commitTime: Int64) -> KafkaHeader {
        KafkaHeader(key: "pinpipe.commit_ts", value: Array(String(commitTime).utf8))
    }

    static let opHeaders: [String: KafkaHeader] = Dictionary(uniqueKeysWithValues: ["r", "c", "u", "d", "t"].map {
        ($0, KafkaHeader(key: "pinpipe.op", value: Array($0.utf8)))
    })
}
