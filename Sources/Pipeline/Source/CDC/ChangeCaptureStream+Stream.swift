import CoreMetrics
import Foundation
import Kafka
import Logging
import PipelineConfig
import Postgres
import Synchronization
import Support

extension ChangeCaptureStream {
    /// What the stream knows about a table from its Relation message.
    struct RelationState {
        var relation: PgOutputRelation
        var table: TableSource
        var topic: String
        var encoder: PostgresRowEncoder
        /// The topic's produced and acknowledged counters, resolved once per relation rather than per record.
        var produced: CoreMetrics.Counter
        var acknowledged: CoreMetrics.Counter
        /// `pinpipe.table` (when `source.table_header` is on), made once per relation.
        var tableHeader: KafkaHeader?
    }

    /// Records dispatched and acknowledged, and how far the slot may be confirmed.
    final class Acknowledgements: Sendable {
        private struct State {
            var watermark: AcknowledgementWatermark
            var idle: Int64
            var failure: KafkaError?
        }

        private let state: Mutex<State>

        init(confirmed: PostgresLSN) {
            state = Mutex(State(watermark: AcknowledgementWatermark(checkpoint: Int64(confirmed.value)),
                                idle: Int64(confirmed.value), failure: nil))
        }

        /// A record of the transaction after `committed`: it holds the confirmed position at `committed`.
        func dispatch(after committed: PostgresLSN) -> Int {
            state.withLock { $0.watermark.dispatch(key: Int64(committed.value)) }
        }

        func delivered(_ sequence: Int, _ result: Result<KafkaDeliveryReport, KafkaError>) {
            state.withLock {
                switch result {
                case .success: $0.watermark.acknowledge(sequence)
                case .failure(let error): $0.failure = $0.failure ?? error
                }
            }
        }

        /// A transaction ends at `end`: confirmable once everything dispatched before is acknowledged.
        func commit(end: PostgresLSN) {
            state.withLock {
                let marker = $0.watermark.dispatch(key: Int64(end.value))
                $0.watermark.acknowledge(marker)
            }
        }

        /// Between transactions with nothing pending, WAL up to `end` holds nothing for us.
        func idle(at end: PostgresLSN) {
            state.withLock { if $0.watermark.pending == 0 { $0.idle = max($0.idle, Int64(end.value)) } }
        }

        var confirmed: PostgresLSN {
            state.withLock { PostgresLSN(UInt64(max($0.watermark.checkpoint ?? 0, $0.idle))) }
        }

        var pending: Int { state.withLock { $0.watermark.pending } }

        func takeFailure() -> KafkaError? {
            state.withLock { s in
                let failure = s.failure
                s.failure = nil
                return failure
            }
        }
    }

    /// Streams from the permanent slot until shutdown (or, with `--once`, until it reached the WAL end of its
    /// start and everything is acknowledged); returns true when done with `--once`.
    ///
    /// A change is sent only when its transaction committed at or after the point of the snapshot that read its
    /// key (`coverage`); exactly once, also only when the committed position does not hold it yet.
    func stream(coverage: ChangeCapturePosition, transactions: ChangeCaptureTransactions?,
                started: ContinuousClock.Instant, backoff: inout Backoff) async throws -> Bool {
        var parameters = source.database
        parameters.replication = true
        let connection = try await PostgresConnection.connect(parameters, logger: logger)
        do {
            return try await stream(connection, coverage: coverage, transactions: transactions, started: started,
                                    backoff: &backoff)
        } catch {
            await connection.close()
            throw error
        }
    }

    private func stream(_ connection: PostgresConnection, coverage: ChangeCapturePosition,
                        transactions: ChangeCaptureTransactions?, started: ContinuousClock.Instant,
                        backoff: inout Backoff) async throws -> Bool {
        // Exactly once: what Kafka already holds (records of transactions up to this position are skipped).
        let resume = transactions?.committed
        let newestSnapshot = coverage.segments.compactMap { PostgresLSN($0.point) }.max() ?? .zero
        let startEnd = try await connection.identifySystem().walPosition
        let slotPosition = try await slotConfirmedPosition()
        try await connection.startReplication(slot: slot, from: .zero, publications: [publication])
        logger.info("CDC streaming", metadata: ["cdc.slot": "\(slot)", "cdc.publication": "\(publication)",
                                                "cdc.from": "\(slotPosition)"])
        if backoff.attempt > 0 {
            source.stats.setOutage(nil)
            source.stats.recordDatabaseReconnect()
            backoff.reset()
        }
        let acks = Acknowledgements(confirmed: slotPosition)
        var relations: [UInt32: RelationState] = [:]
        var transaction: (commitLSN: PostgresLSN, commitTime: PostgresTimestamp, records: Int)?
        var lastCommitEnd = slotPosition
        var serverEnd = startEnd
        var seen = slotPosition
        var lastStatus = ContinuousClock.now
        var sentConfirmed = slotPosition
        var newestCommit: PostgresTimestamp?
        var value: [UInt8] = []
        var commitHeader = Self.commitHeader(0)
        var partitionCache: [String: [Int32?]] = [:]
        var changeCounts: [String: Int] = [:]
        var readAhead: Task<[ReplicationFrame], any Error>?
        defer { readAhead?.cancel() }
        var lastLagWarning = ContinuousClock.now - .seconds(3600)
        /// Publishes the slot's lag (STATUS, metrics) from what is confirmed now; also after the last commit, so the
        /// final STATUS does not show the lag of the round before it.
        func reportLag() -> (confirmed: PostgresLSN, bytes: Int64, seconds: Double) {
            let confirmed = transactions?.confirmed ?? acks.confirmed
            let pending = transactions?.uncommitted ?? acks.pending
            let seconds = pending > 0 ? newestCommit.map { max(0, Date().timeIntervalSince1970 - Double($0.unixMilliseconds) / 1000) } ?? 0 : 0
            let bytes = Int64(serverEnd.value &- min(serverEnd.value, confirmed.value))
            source.stats.setReplicationLag(bytes: bytes, seconds: seconds, confirmed: confirmed.value)
            return (confirmed, bytes, seconds)
        }
        while !source.shutdown.isTriggered {
            source.liveness.beat()
            await source.hooks.hangIfRequested(actor: SourceProducer.actorName, startedAt: started)
            if let failure = acks.takeFailure() { throw failure }
            var replyNow = false
            // One call per burst of messages (everything already received), not one per message. While a burst
            // is produced the next one is read (the connection's own thread reads, this task produces), as
            // `pg_recvlogical | kcat` overlap; when idle nothing is read ahead, so status updates are not held up.
            let frames: [ReplicationFrame]
            if let ahead = readAhead {
                frames = try await ahead.value
            } else {
                frames = try await connection.readReplicationFrames(timeout: .milliseconds(500))
            }
            // (A short wait: a status update or the stop of --once queues behind this read.)
            readAhead = frames.isEmpty ? nil : Task { try await connection.readReplicationFrames(timeout: .milliseconds(20)) }
            for frame in frames {
                switch frame {
                case .keepalive(let end, _, let reply):
                    serverEnd = max(serverEnd, end)
                    seen = max(seen, end)
                    if transaction == nil {
                        acks.idle(at: end)
                        transactions?.idle(at: end)
                    }
                    replyNow = replyNow || reply
                case .xlogData(let walStart, let walEnd, _, let payload):
                    serverEnd = max(serverEnd, walEnd)
                    let message: PgOutputMessage
                    do {
                        message = try PgOutputMessage.decode(payload)
                    } catch {
                        throw PostgresError(code: .protocolViolation, message: "at \(walStart): \(error)")
                    }
                    switch message {
                    case .begin(let commitLSN, let commitTime, _):
                        transaction = (commitLSN, commitTime, 0)
                        commitHeader = Self.commitHeader(commitTime.unixMilliseconds)
                    case .commit(_, let end, let commitTime):
                        newestCommit = commitTime
                        transaction = nil
                        lastCommitEnd = end
                        seen = max(seen, end)
                        acks.commit(end: end)
                        transactions?.transactionEnded(at: end)
                    case .relation(let relation):
                        if let table = configuration.source.tables.first(where: { $0.table == relation.name }) {
                            let encoder = try PostgresRowEncoder(
                                columns: relation.columns.map { PostgresColumn(name: $0.name, typeOID: $0.typeOID) },
                                keyColumn: table.keyColumn)
                            let topic = configuration.kafka.topic(for: table)
                            relations[relation.oid] = RelationState(
                                relation: relation, table: table, topic: topic, encoder: encoder,
                                produced: source.stats.counter(MetricName.produced, [("topic", topic)]),
                                acknowledged: source.stats.acknowledgedCounter(topic: topic),
                                tableHeader: tableHeader(table))
                        }
                    case .insert, .update, .delete, .truncate:
                        guard let current = transaction else { break }
                        for change in try changes(message, relations: relations, value: &value) {
                            // Older than the snapshot that read this key: the snapshot's row has it. (Past the newest
                            // snapshot's point every change is newer: no lookup.)
                            guard current.commitLSN >= newestSnapshot
                                || coverage.isNewer(table: change.state.table.name, key: change.key.flatMap(Self.integer),
                                                    commitLSN: current.commitLSN) else { continue }
                            let headers = Self.headers(table: change.state.tableHeader, op: change.op, lsn: walStart,
                                                       commit: commitHeader)
                            // A truncate marker goes to every partition: a reader of one partition sees it in order.
                            let partitions: [Int32?] = change.op == "t"
                                ? try await partitionIDs(change.state.topic, cache: &partitionCache) : [nil]
                            for partition in partitions {
                                let index = transaction!.records
                                transaction!.records += 1
                                if let transactions {
                                    if resume?.alreadySent(commitLSN: current.commitLSN, index: index) == true { continue }
                                    if transactions.isDue { try await transactions.commit() }
                                    try await source.produceRow(topic: change.state.topic, partition: partition, key: change.key,
                                                                value: change.value, headers: headers,
                                                                acknowledged: change.state.acknowledged) { transactions.delivered($0) }
                                    transactions.added { $0.sent(commitLSN: current.commitLSN, index: index) }
                                } else {
                                    let sequence = acks.dispatch(after: lastCommitEnd)
                                    try await source.produceRow(topic: change.state.topic, partition: partition, key: change.key,
                                                                value: change.value, headers: headers,
                                                                acknowledged: change.state.acknowledged) { acks.delivered(sequence, $0) }
                                }
                                change.state.produced.increment()
                            }
                            changeCounts[change.op, default: 0] += 1
                        }
                    case .origin, .type, .logicalMessage:
                        break
                    }
                }
            }
            for (op, count) in changeCounts { source.stats.recordChanges(count, op: op) }
            changeCounts.removeAll(keepingCapacity: true)
            if let transactions, transactions.isDue { try await transactions.commit() }
            let (confirmed, lagBytes, lagSeconds) = reportLag()
            if lagBytes > configuration.source.cdc.lagWarningBytes, ContinuousClock.now - lastLagWarning > .seconds(60) {
                lastLagWarning = .now
                logger.warning("The replication slot holds back more WAL than source.cdc.lag_warning_bytes", metadata: [
                    "cdc.slot": "\(slot)", "cdc.lag_bytes": "\(lagBytes)", "cdc.lag_seconds": "\(Int(lagSeconds))",
                    "cdc.confirmed": "\(confirmed)", "cdc.server_end": "\(serverEnd)",
                ])
            }
            if replyNow || ContinuousClock.now - lastStatus > .seconds(10) || (confirmed != sentConfirmed && ContinuousClock.now - lastStatus > .seconds(1)) {
                try await connection.sendStandbyStatus(received: seen, flushed: confirmed, now: .now)
                lastStatus = .now
                sentConfirmed = confirmed
            }
            if source.once, transaction == nil, seen >= startEnd, acks.pending == 0 {
                if let transactions {
                    try await transactions.commit()
                } else {
                    try await source.liveness.whileWaiting { () async throws(KafkaError) in
                        try await source.producer.flush(timeout: .seconds(120))
                    }
                    if let failure = acks.takeFailure() { throw failure }
                }
                let confirmed = reportLag().confirmed
                try await connection.sendStandbyStatus(received: seen, flushed: confirmed, now: .now)
                logger.notice("CDC caught up with the WAL end at start; stopping (--once)", metadata: [
                    "cdc.slot": "\(slot)", "cdc.confirmed": "\(confirmed)"])
                if let ahead = readAhead { _ = try? await ahead.value }
                await connection.close()
                return true
            }
        }
        // Shutdown: what is acknowledged (exactly once: committed) is confirmed, the rest is streamed again next time.
        if let transactions {
            do {
                try await transactions.commit()
            } catch {
                logger.warning("The last CDC transaction could not be committed; it is captured again next time",
                               metadata: [LogKey.error: "\(error)"])
            }
        } else {
            await source.flush()
        }
        try? await connection.sendStandbyStatus(received: seen, flushed: reportLag().confirmed, now: .now)
        if let ahead = readAhead { _ = try? await ahead.value }
        await connection.close()
        return false
    }

    struct Change {
        var op: String
        var state: RelationState
        var key: [UInt8]?
        var value: [UInt8]
    }

    /// The records one change message makes.
    func changes(_ message: PgOutputMessage, relations: [UInt32: RelationState], value: inout [UInt8]) throws -> [Change] {
        func key(_ state: RelationState, _ tuple: PgOutputTuple) -> [UInt8]? {
            if case .text(let bytes) = tuple.values[state.encoder.keyColumnIndex] { return Array(bytes) }
            return nil
        }
        switch message {
        case .insert(let oid, let new):
            guard let state = relations[oid] else { return [] }
            value.removeAll(keepingCapacity: true)
            state.encoder.encodeValue(new, into: &value)
            return [Change(op: "c", state: state, key: key(state, new), value: value)]
        case .update(let oid, let old, _, var new):
            guard let state = relations[oid] else { return [] }
            for (index, item) in new.values.enumerated() where item == .unchangedToast {
                // pgoutput leaves an unchanged TOASTed value out; REPLICA IDENTITY FULL sends the old row with it.
                guard let old, index < old.values.count, case .text = old.values[index] else {
                    throw ChangeCaptureError(message: """
                        an update of \(state.table.table) left out the unchanged TOASTed column \
                        '\(state.relation.columns[index].name)', and the table does not send its old row: run \
                        ALTER TABLE "\(state.table.table)" REPLICA IDENTITY FULL (pinpipe cdc setup does this)
                        """)
                }
                new.values[index] = old.values[index]
            }
            var changes: [Change] = []
            if let old, key(state, old) != key(state, new) {
                // The key changed: the old key's row is gone (a delete record for it), then the new key's row.
                changes.append(Change(op: "d", state: state, key: key(state, old), value: deleted(old, state)))
            }
            value.removeAll(keepingCapacity: true)
            state.encoder.encodeValue(new, into: &value)
            changes.append(Change(op: "u", state: state, key: key(state, new), value: value))
            return changes
        case .delete(let oid, let old, _):
            guard let state = relations[oid] else { return [] }
            return [Change(op: "d", state: state, key: key(state, old), value: deleted(old, state))]
        case .truncate(let oids, _, _):
            return oids.compactMap { oid in
                guard let state = relations[oid] else { return nil }
                logger.notice("TRUNCATE of a captured table: a pinpipe.op=t record marks it in the topic",
                              metadata: [LogKey.table: "\(state.table.table)", LogKey.topic: "\(state.topic)"])
                return Change(op: "t", state: state, key: nil, value: Array(#"{"__truncated":true}"#.utf8))
            }
        default:
            return []
        }
    }

    /// A key's decimal text as a number (nil when it is not one).
    static func integer(_ key: [UInt8]) -> Int64? { Int64(String(decoding: key, as: UTF8.self)) }

    /// The topic's partitions (from the cluster's metadata, once per stream).
    func partitionIDs(_ topic: String, cache: inout [String: [Int32?]]) async throws -> [Int32?] {
        if let known = cache[topic] { return known }
        guard let metadata = try await source.producer.clusterTopics(timeout: .seconds(10))[topic], !metadata.partitions.isEmpty else {
            throw ChangeCaptureError(message: "the broker reports no partitions for \(topic)")
        }
        let ids: [Int32?] = metadata.partitions.map(\.id).sorted()
        cache[topic] = ids
        return ids
    }

    /// A delete record's value: the old row (the whole row under REPLICA IDENTITY FULL, else its key columns) with
    /// `"__deleted": true`, as Debezium's new-record-state extraction writes it.
    func deleted(_ old: PgOutputTuple, _ state: RelationState) -> [UInt8] {
        var value: [UInt8] = []
        state.encoder.encodeValue(old, into: &value)
        value.removeLast()  // "}"
        value.append(contentsOf: Array(#","__deleted":true}"#.utf8))
        return value
    }

    /// The slot's confirmed flush position (where the server resumes the stream).
    func slotConfirmedPosition() async throws -> PostgresLSN {
        let rows = try await Self.using(try await source.connect(first: false)) {
            try await $0.query("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = $1", [slot])
        }
        guard rows.count == 1 else {
            throw ChangeCaptureError(message: "the replication slot \(slot) disappeared (was it dropped?); run pinpipe cdc setup, then pinpipe takes a new snapshot")
        }
        return rows.string(row: 0, column: 0).flatMap { PostgresLSN($0) } ?? .zero
    }
}

struct ChangeCaptureError: Error, CustomStringConvertible {
    var message: String
    var description: String { "change data capture: \(message)" }
}
