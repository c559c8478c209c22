import Foundation
import Postgres
import Testing

/// The logical replication protocol against the stack's PostgreSQL (wal_level=logical): a slot with an exported
/// snapshot, the snapshot read inside it, the stream after the consistent point, and resuming after the
/// confirmed flush position.
@Suite(.serialized) struct ReplicationStreamTests {
    struct Change: Equatable {
        var op: Character
        var id: String
    }

    /// Reads frames until `count` changes of `relationName` arrived (or 20 s passed); returns them with the end
    /// LSN of each transaction that carried one.
    static func changes(_ stream: PostgresConnection, count: Int, relationName: String) async throws
        -> (changes: [Change], commitEnds: [PostgresLSN])
    {
        var relations: [UInt32: PgOutputRelation] = [:]
        var changes: [Change] = []
        var ends: [PostgresLSN] = []
        var pending = false
        let deadline = ContinuousClock.now + .seconds(20)
        while changes.count < count || pending, ContinuousClock.now < deadline {
            guard let frame = try await stream.readReplicationFrame(timeout: .milliseconds(500)) else { continue }
            switch frame {
            case .keepalive(let end, _, let reply):
                if reply { try await stream.sendStandbyStatus(received: end, flushed: .zero, now: .now) }
            case .xlogData(_, _, _, let payload):
                func id(_ tuple: PgOutputTuple) -> String {
                    if case .text(let bytes) = tuple.values[0] { return String(decoding: bytes, as: UTF8.self) }
                    return "?"
                }
                switch try PgOutputMessage.decode(payload) {
                case .relation(let r): relations[r.oid] = r
                case .insert(let rel, let new) where relations[rel]?.name == relationName:
                    changes.append(Change(op: "c", id: id(new))); pending = true
                case .update(let rel, _, _, let new) where relations[rel]?.name == relationName:
                    changes.append(Change(op: "u", id: id(new))); pending = true
                case .delete(let rel, let old, _) where relations[rel]?.name == relationName:
                    changes.append(Change(op: "d", id: id(old))); pending = true
                case .commit(_, let end, _):
                    if pending { ends.append(end) }
                    pending = false
                default: break
                }
            }
        }
        return (changes, ends)
    }

    @Test func snapshotThenStreamThenResumeAfterTheConfirmedPosition() async throws {
        let table = PostgresTestDatabase.tableName("cdc_stream")
        let slot = table + "_slot"
        let publication = table + "_pub"
        var parameters = try PostgresTestDatabase.parameters()
        let sql = try await PostgresConnection.connect(parameters, logger: PostgresTestDatabase.logger)
        try await sql.execute("CREATE TABLE \(table) (id integer PRIMARY KEY, v text)")
        try await sql.execute("INSERT INTO \(table) VALUES (1, 'before the slot')")
        try await sql.execute("CREATE PUBLICATION \(publication) FOR TABLE \(table)")
        parameters.replication = true
        let stream = try await PostgresConnection.connect(parameters, logger: PostgresTestDatabase.logger)
        defer {
            Task {
                await stream.close()
                try? await Task.sleep(for: .milliseconds(300))
                try? await sql.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '\(slot)'")
                try? await sql.execute("DROP PUBLICATION IF EXISTS \(publication)")
                try? await sql.execute("DROP TABLE IF EXISTS \(table)")
                await sql.close()
            }
        }
        let identity = try await stream.identifySystem()
        #expect(identity.database == parameters.database)
        let created = try await stream.createReplicationSlot(slot, exportSnapshot: true)
        #expect(created.consistentPoint >= identity.walPosition)
        let snapshot = try #require(created.snapshotName)

        // Committed after the consistent point: streamed, and not in the snapshot.
        try await sql.execute("INSERT INTO \(table) VALUES (2, 'after the slot')")
        let reader = try await PostgresTestDatabase.connect()
        try await reader.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        try await reader.execute("SET TRANSACTION SNAPSHOT '\(snapshot)'")
        let rows = try await reader.query("SELECT id FROM \(table) ORDER BY id")
        try await reader.execute("COMMIT")
        await reader.close()
        #expect((0..<rows.count).compactMap { rows.string(row: $0, column: 0) } == ["1"])

        try await sql.execute("UPDATE \(table) SET v = 'changed' WHERE id = 1")
        try await sql.execute("DELETE FROM \(table) WHERE id = 2")
        try await stream.startReplication(slot: slot, from: created.consistentPoint, publications: [publication])
        let first = try await Self.changes(stream, count: 3, relationName: table)
        #expect(first.changes == [Change(op: "c", id: "2"), Change(op: "u", id: "1"), Change(op: "d", id: "2")])
        #expect(first.commitEnds.count == 3)

        // Confirm only the first transaction; a new stream on the slot starts after it.
        try await stream.sendStandbyStatus(received: first.commitEnds[2], flushed: first.commitEnds[0], now: .now)
        await stream.close()
        try await Task.sleep(for: .milliseconds(300))  // the walsender notices the closed connection
        let again = try await PostgresConnection.connect(parameters, logger: PostgresTestDatabase.logger)
        defer { Task { await again.close() } }
        try await again.startReplication(slot: slot, from: .zero, publications: [publication])
        let resumed = try await Self.changes(again, count: 2, relationName: table)
        #expect(resumed.changes == [Change(op: "u", id: "1"), Change(op: "d", id: "2")])
        await again.close()
    }

    @Test func aMissingPublicationIsNamedByTheServer() async throws {
        var parameters = try PostgresTestDatabase.parameters()
        parameters.replication = true
        let stream = try await PostgresConnection.connect(parameters, logger: PostgresTestDatabase.logger)
        let slot = PostgresTestDatabase.tableName("cdc_nopub_slot")
        _ = try await stream.createReplicationSlot(slot, exportSnapshot: false)
        try await stream.startReplication(slot: slot, from: .zero, publications: ["no_such_publication"])
        let sql = try await PostgresTestDatabase.connect()
        try await sql.execute("CREATE TABLE IF NOT EXISTS cdc_nopub_probe (id integer)")
        try await sql.execute("INSERT INTO cdc_nopub_probe VALUES (1)")
        await #expect {
            for _ in 0..<40 { _ = try await stream.readReplicationFrame(timeout: .milliseconds(500)) }
        } throws: { error in
            "\(error)".contains("no_such_publication")
        }
        await stream.close()
        try await Task.sleep(for: .milliseconds(300))
        try await sql.execute("SELECT pg_drop_replication_slot('\(slot)')")
        try await sql.execute("DROP TABLE cdc_nopub_probe")
        await sql.close()
    }
}
