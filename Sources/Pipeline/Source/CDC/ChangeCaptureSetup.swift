import PipelineConfig
import Postgres

/// What change data capture needs in PostgreSQL, checked and created by `pinpipe cdc setup`: `wal_level=logical`,
/// a role that may replicate, a free replication slot and WAL sender, the tables with `REPLICA IDENTITY FULL`
/// (pgoutput leaves unchanged TOASTed columns out of an update; with FULL the old row carries them, so every
/// update record is the whole row), a publication of the tables, and a logical slot with the `pgoutput` plugin.
public struct ChangeCaptureSetup: Sendable {
    /// Something the role cannot fix itself, with what to do about it.
    public struct Finding: Sendable, Equatable, CustomStringConvertible {
        public var problem: String
        public var fix: String
        public var description: String { "\(problem) — \(fix)" }
    }

    public struct Plan: Sendable, Equatable {
        /// Prerequisites that are missing; setup stops when there is any.
        public var findings: [Finding] = []
        /// The SQL that creates what is missing, in order.
        public var statements: [String] = []
        /// What is already in place (for the report).
        public var present: [String] = []
    }

    public let slot: String
    public let publication: String
    public let tables: [String]

    public init(configuration: PinpipeConfiguration) {
        slot = configuration.cdcSlot
        publication = configuration.cdcPublication
        tables = configuration.source.tables.map(\.table)
    }

    /// Reads the server's settings and catalogs; changes nothing.
    public func inspect(_ db: PostgresConnection) async throws(PostgresError) -> Plan {
        var plan = Plan()
        let walLevel = try await value(db, "SHOW wal_level")
        if walLevel != "logical" {
            plan.findings.append(Finding(
                problem: "wal_level is '\(walLevel ?? "?")', logical decoding needs 'logical'",
                fix: "run ALTER SYSTEM SET wal_level = logical and restart PostgreSQL (Amazon RDS: set rds.logical_replication = 1 in the DB parameter group and reboot)"))
        }
        let role = try await db.query("""
            SELECT current_user, r.rolreplication OR r.rolsuper
                   OR (EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_replication')
                       AND pg_has_role(current_user, 'rds_replication', 'member'))
            FROM pg_roles r WHERE r.rolname = current_user
            """)
        let user = role.string(row: 0, column: 0) ?? "?"
        if role.string(row: 0, column: 1) != "t" {
            plan.findings.append(Finding(
                problem: "role \(user) may not use replication",
                fix: "as an administrator run ALTER ROLE \(quote(user)) REPLICATION (Amazon RDS: GRANT rds_replication TO \(quote(user)))"))
        }
        if let senders = try await value(db, "SHOW max_wal_senders").flatMap({ Int($0) }), senders < 1 {
            plan.findings.append(Finding(problem: "max_wal_senders is 0", fix: "set max_wal_senders to at least 1 and restart PostgreSQL"))
        }

        // The slot.
        let slotRow = try await db.query(
            "SELECT plugin, database, slot_type, active_pid FROM pg_replication_slots WHERE slot_name = $1", [slot])
        if slotRow.count == 1 {
            let plugin = slotRow.string(row: 0, column: 0) ?? ""
            let database = slotRow.string(row: 0, column: 1) ?? ""
            let current = try await value(db, "SELECT current_database()") ?? ""
            if slotRow.string(row: 0, column: 2) != "logical" || plugin != "pgoutput" || database != current {
                plan.findings.append(Finding(
                    problem: "replication slot \(slot) exists but is \(slotRow.string(row: 0, column: 2) ?? "?") with plugin '\(plugin)' in database '\(database)'",
                    fix: "configure another source.cdc.slot, or drop it (SELECT pg_drop_replication_slot('\(slot)')) if nothing else uses it"))
            } else {
                plan.present.append("replication slot \(slot) (pgoutput)")
            }
        } else {
            let slots = try await db.query("SELECT current_setting('max_replication_slots')::int, (SELECT count(*) FROM pg_replication_slots)")
            if let max = slots.string(row: 0, column: 0).flatMap({ Int($0) }),
               let used = slots.string(row: 0, column: 1).flatMap({ Int($0) }), used >= max {
                plan.findings.append(Finding(
                    problem: "all \(max) replication slots are in use (max_replication_slots)",
                    fix: "raise max_replication_slots and restart PostgreSQL, or drop a slot nobody uses (see pg_replication_slots)"))
            }
            plan.statements.append("SELECT pg_create_logical_replication_slot('\(slot)', 'pgoutput')")
        }

        // The tables: present, owned (CREATE PUBLICATION and ALTER TABLE need the owner), REPLICA IDENTITY FULL.
        let published = try await db.query("SELECT schemaname || '.' || tablename FROM pg_publication_tables WHERE pubname = $1", [publication])
        let publishedNames = Set((0..<published.count).compactMap { published.string(row: $0, column: 0) })
        let publicationExists = try await value(db, "SELECT count(*) FROM pg_publication WHERE pubname = $1", [publication]) == "1"
        var missingFromPublication: [String] = []
        for table in tables {
            let info = try await db.query("""
                SELECT n.nspname || '.' || c.relname, c.relreplident, pg_get_userbyid(c.relowner), pg_has_role(c.relowner, 'USAGE')
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)
                """, [quote(table)])
            guard info.count == 1, let qualified = info.string(row: 0, column: 0) else {
                plan.findings.append(Finding(problem: "table \(table) does not exist", fix: "check source.tables in the configuration"))
                continue
            }
            let owner = info.string(row: 0, column: 2) ?? "?"
            let owned = info.string(row: 0, column: 3) == "t"
            if info.string(row: 0, column: 1) == "f" {
                plan.present.append("\(table): REPLICA IDENTITY FULL")
            } else if owned {
                plan.statements.append("ALTER TABLE \(quote(table)) REPLICA IDENTITY FULL")
            } else {
                plan.findings.append(Finding(
                    problem: "\(table) is not REPLICA IDENTITY FULL, and only its owner \(owner) can change that",
                    fix: "as \(owner) run ALTER TABLE \(quote(table)) REPLICA IDENTITY FULL"))
            }
            if publishedNames.contains(qualified) { continue }
            if !owned {
                plan.findings.append(Finding(
                    problem: "\(table) is not in publication \(publication), and only its owner \(owner) can add it",
                    fix: "as \(owner) run: \(publicationStatement(exists: publicationExists, tables: [table]))"))
            }
            missingFromPublication.append(table)
        }
        if missingFromPublication.isEmpty {
            plan.present.append("publication \(publication) of \(tables.joined(separator: ", "))")
        } else {
            plan.statements.insert(publicationStatement(exists: publicationExists, tables: missingFromPublication), at: 0)
        }
        // The slot last: it starts retaining WAL from the moment it exists.
        if let index = plan.statements.firstIndex(where: { $0.contains("pg_create_logical_replication_slot") }) {
            plan.statements.append(plan.statements.remove(at: index))
        }
        return plan
    }

    /// Runs the plan's statements; throws before changing anything when a prerequisite is missing.
    public func apply(_ plan: Plan, on db: PostgresConnection) async throws -> [String] {
        guard plan.findings.isEmpty else { throw ChangeCaptureSetupError(findings: plan.findings) }
        for statement in plan.statements { try await db.execute(statement) }
        return plan.statements
    }

    /// The statements that remove the slot and the publication (the tables keep their replica identity).
    public func dropStatements(_ db: PostgresConnection) async throws -> [String] {
        var statements: [String] = []
        let slotRow = try await db.query("SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1", [slot])
        if slotRow.count == 1 {
            if let pid = slotRow.string(row: 0, column: 0) {
                throw ChangeCaptureSetupError(findings: [Finding(
                    problem: "replication slot \(slot) is in use by the server process \(pid)",
                    fix: "stop the pinpipe that streams from it (systemctl stop pinpipe) and run cdc drop again")])
            }
            statements.append("SELECT pg_drop_replication_slot('\(slot)')")
        }
        if try await value(db, "SELECT count(*) FROM pg_publication WHERE pubname = $1", [publication]) == "1" {
            statements.append("DROP PUBLICATION \(quote(publication))")
        }
        return statements
    }

    private func publicationStatement(exists: Bool, tables: [String]) -> String {
        let list = tables.map(quote).joined(separator: ", ")
        return exists ? "ALTER PUBLICATION \(quote(publication)) ADD TABLE \(list)"
                      : "CREATE PUBLICATION \(quote(publication)) FOR TABLE \(list)"
    }

    private func value(_ db: PostgresConnection, _ sql: String, _ params: [String?] = []) async throws(PostgresError) -> String? {
        let rows = try await db.query(sql, params)
        return rows.count > 0 ? rows.string(row: 0, column: 0) : nil
    }

    private func quote(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

public struct ChangeCaptureSetupError: Error, CustomStringConvertible {
    public var findings: [ChangeCaptureSetup.Finding]
    public var description: String {
        "change data capture is not possible yet:\n" + findings.map { "  - \($0)" }.joined(separator: "\n")
    }
}
