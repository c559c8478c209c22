import Foundation
import Logging
import Pipeline
import PipelineConfig
import Postgres
import TestSupport
import Testing

/// `pinpipe cdc setup` / `drop` against the stack's PostgreSQL (wal_level=logical, the pinpipe role may replicate).
@Suite(.serialized) struct ChangeCaptureSetupTests {
    static func connect(replication: Bool = false) async throws -> PostgresConnection {
        let env = try TestStack.environment()
        var parameters = PostgresConnectionParameters(
            host: env["PINPIPE_PG_HOST"]!, port: Int(env["PINPIPE_PG_PORT"]!)!, user: env["PINPIPE_PG_USER"]!,
            password: env["PINPIPE_PG_PASSWORD"]!, database: env["PINPIPE_PG_DATABASE"]!, sslMode: "disable")
        parameters.replication = replication
        return try await PostgresConnection.connect(parameters, logger: Logger(label: "test.cdc"))
    }

    /// A configuration whose three tables are fresh tables of this test (or the names given).
    static func configuration(_ prefix: String, tables: [String]? = nil) -> PinpipeConfiguration {
        var configuration = PinpipeConfiguration()
        configuration.kafka.topicPrefix = prefix
        let names = tables ?? ["pin", "geo", "user"].map { "\(prefix)_\($0)" }
        configuration.source.tables = zip(TableSource.defaults, names).map {
            TableSource(name: $0.name, table: $1, keyColumn: $0.keyColumn)
        }
        return configuration
    }

    static func uniquePrefix() -> String {
        TestStack.uniqueName("cdc").lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }.reduce(into: "") { $0.append($1) }
    }

    @Test func setupCreatesWhatIsMissingOnceAndDropRemovesIt() async throws {
        let prefix = Self.uniquePrefix()
        let configuration = Self.configuration(prefix)
        let db = try await Self.connect()
        for (table, key) in zip(configuration.source.tables.map(\.table), ["index", "ind", "ind"]) {
            try await db.execute("CREATE TABLE \(table) (\"\(key)\" integer PRIMARY KEY, v text)")
        }
        let setup = ChangeCaptureSetup(configuration: configuration)
        #expect(setup.slot == "pinpipe_" + prefix && setup.publication == setup.slot)
        let plan = try await setup.inspect(db)
        #expect(plan.findings.isEmpty, "\(plan.findings)")
        #expect(plan.statements.count == 5)
        #expect(plan.statements.first?.hasPrefix("CREATE PUBLICATION \"\(setup.publication)\" FOR TABLE") == true)
        #expect(plan.statements.last == "SELECT pg_create_logical_replication_slot('\(setup.slot)', 'pgoutput')")
        _ = try await setup.apply(plan, on: db)

        // Checked independently in the catalogs.
        let identity = try await db.query("SELECT count(*) FROM pg_class WHERE relname LIKE '\(prefix)_%' AND relreplident = 'f'")
        #expect(identity.string(row: 0, column: 0) == "3")
        let slot = try await db.query("SELECT plugin FROM pg_replication_slots WHERE slot_name = '\(setup.slot)'")
        #expect(slot.string(row: 0, column: 0) == "pgoutput")
        let published = try await db.query("SELECT count(*) FROM pg_publication_tables WHERE pubname = '\(setup.publication)'")
        #expect(published.string(row: 0, column: 0) == "3")

        let again = try await setup.inspect(db)
        #expect(again.statements.isEmpty && again.findings.isEmpty && again.present.count == 5)

        // A stream holds the slot: drop refuses and names the server process.
        let stream = try await Self.connect(replication: true)
        try await stream.startReplication(slot: setup.slot, from: .zero, publications: [setup.publication])
        _ = try await stream.readReplicationFrame(timeout: .milliseconds(200))
        await #expect { _ = try await setup.dropStatements(db) } throws: { "\($0)".contains("is in use by the server process") }
        await stream.close()
        try await Task.sleep(for: .milliseconds(500))

        let drop = try await setup.dropStatements(db)
        #expect(drop == ["SELECT pg_drop_replication_slot('\(setup.slot)')", "DROP PUBLICATION \"\(setup.publication)\""])
        for statement in drop { try await db.execute(statement) }
        #expect(try await setup.dropStatements(db).isEmpty)
        for table in configuration.source.tables { try await db.execute("DROP TABLE \(table.table)") }
        await db.close()
    }

    @Test func aPublicationMissingATableIsExtended() async throws {
        let prefix = Self.uniquePrefix()
        let configuration = Self.configuration(prefix)
        let db = try await Self.connect()
        let tables = configuration.source.tables.map(\.table)
        for table in tables { try await db.execute("CREATE TABLE \(table) (\"index\" integer, ind integer) ") }
        try await db.execute("CREATE PUBLICATION pinpipe_\(prefix) FOR TABLE \(tables[0])")
        let plan = try await ChangeCaptureSetup(configuration: configuration).inspect(db)
        #expect(plan.statements.first == "ALTER PUBLICATION \"pinpipe_\(prefix)\" ADD TABLE \"\(tables[1])\", \"\(tables[2])\"")
        try await db.execute("DROP PUBLICATION pinpipe_\(prefix)")
        for table in tables { try await db.execute("DROP TABLE \(table)") }
        await db.close()
    }

    @Test func whatTheRoleCannotDoIsNamedWithTheFix() async throws {
        let prefix = Self.uniquePrefix()
        // pg_class belongs to postgres; the second table does not exist.
        let configuration = Self.configuration(prefix, tables: ["pg_class", "\(prefix)_absent", "pg_class"])
        let db = try await Self.connect()
        let setup = ChangeCaptureSetup(configuration: configuration)
        let plan = try await setup.inspect(db)
        let problems = plan.findings.map(\.description)
        #expect(problems.contains { $0.contains("pg_class is not REPLICA IDENTITY FULL, and only its owner postgres can change that")
                                     && $0.contains("ALTER TABLE \"pg_class\" REPLICA IDENTITY FULL") })
        #expect(problems.contains { $0.contains("table \(prefix)_absent does not exist") })
        await #expect { _ = try await setup.apply(plan, on: db) } throws: { "\($0)".contains("change data capture is not possible yet") }
        // Nothing was created.
        let slot = try await db.query("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '\(setup.slot)'")
        #expect(slot.string(row: 0, column: 0) == "0")
        await db.close()
    }
}
