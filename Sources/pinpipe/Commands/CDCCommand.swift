import ArgumentParser
import Foundation
import Logging
import Pipeline
import PipelineConfig
import Postgres

/// `pinpipe cdc setup|drop`: what change data capture needs in PostgreSQL.
struct CDCCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cdc",
        abstract: "Prepares PostgreSQL for change data capture (logical replication with pgoutput), or removes it.",
        subcommands: [Setup.self, Drop.self])

    struct Options: ParsableArguments {
        @Option(name: .shortAndLong, help: "Configuration file (source.*, source.cdc.*, kafka.topic_prefix).")
        var config: String = "/etc/pinpipe/pinpipe.yaml"

        @Flag(help: "Print the SQL instead of running it.")
        var print = false
    }

    struct Setup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Checks wal_level, the role's replication privilege, free slots and table ownership; sets the tables to REPLICA IDENTITY FULL and creates the publication and the slot.",
            discussion: "Exit status: 0 ready (or --print printed the plan), 1 a prerequisite is missing (each is named, with what to do).")

        @OptionGroup var options: Options

        func run() async throws {
            let (configuration, db) = try await CDCCommand.connect(options.config)
            let setup = ChangeCaptureSetup(configuration: configuration)
            do {
                let plan = try await setup.inspect(db)
                for item in plan.present { Swift.print("present: \(item)") }
                if options.print || !plan.findings.isEmpty {
                    for finding in plan.findings { Swift.print("missing: \(finding)") }
                    for statement in plan.statements { Swift.print("\(statement);") }
                    await db.close()
                    if !plan.findings.isEmpty { throw ExitCode(1) }
                    return
                }
                for statement in try await setup.apply(plan, on: db) { Swift.print("done: \(statement)") }
                Swift.print("change data capture is set up: slot \(setup.slot), publication \(setup.publication)")
            } catch {
                await db.close()
                throw error
            }
            await db.close()
        }
    }

    struct Drop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Drops the replication slot and the publication (never done automatically: the slot holds the stream's position).")

        @OptionGroup var options: Options

        func run() async throws {
            let (configuration, db) = try await CDCCommand.connect(options.config)
            let setup = ChangeCaptureSetup(configuration: configuration)
            do {
                let statements = try await setup.dropStatements(db)
                if statements.isEmpty { Swift.print("nothing to drop: no slot \(setup.slot), no publication \(setup.publication)") }
                for statement in statements {
                    if options.print {
                        Swift.print("\(statement);")
                    } else {
                        try await db.execute(statement)
                        Swift.print("done: \(statement)")
                    }
                }
            } catch let error as ChangeCaptureSetupError {
                await db.close()
                FileHandle.standardError.write(Data("pinpipe cdc drop: \(error)\n".utf8))
                throw ExitCode(1)
            } catch {
                await db.close()
                throw error
            }
            await db.close()
        }
    }

    static func connect(_ path: String) async throws -> (PinpipeConfiguration, PostgresConnection) {
        let configuration = try Bootstrap.loadConfiguration(path)
        var logging = configuration.logging
        logging.level = .warning
        logging.output = .console
        Bootstrap.logging(logging)
        let environment = ProcessInfo.processInfo.environment
        let file = try DatabaseCredentials.resolvePath(configured: configuration.source.credentialsFile, environment: environment)
        var warnings: [String] = []
        let credentials = try DatabaseCredentials.load(file: file, warnings: &warnings)
        for warning in warnings { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
        let db = try await PostgresConnection.connect(
            PostgresConnectionParameters(source: configuration.source, credentials: credentials),
            logger: Logger(label: "pinpipe.cdc"))
        return (configuration, db)
    }
}
