import ArgumentParser
import Foundation
import Logging
import PipelineConfig

/// `pinpipe check-config`: validates the configuration (and the credentials file), prints the effective
/// configuration with secrets masked, and exits non-zero on any error.
struct CheckConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validates the configuration and prints the effective configuration with secrets masked.")

    @Option(name: .shortAndLong, help: "Configuration file.")
    var config: String = "/etc/pinpipe/pinpipe.yaml"

    @Flag(help: "Also read the database credentials file (and the REST users file).")
    var credentials = false

    func run() async throws {
        let configuration = try Bootstrap.loadConfiguration(config)
        print("# effective configuration of \(config) (secrets masked)")
        print(configuration.renderEffective(), terminator: "")
        if credentials || configuration.source.credentialsFile != nil, configuration.roles.contains(.produce) {
            do {
                let path = try DatabaseCredentials.resolvePath(
                    configured: configuration.source.credentialsFile, environment: ProcessInfo.processInfo.environment)
                var warnings: [String] = []
                let creds = try DatabaseCredentials.load(file: path, warnings: &warnings)
                print("# database: \(creds)")
                for warning in warnings { FileHandle.standardError.write(Data("pinpipe: warning: \(warning)\n".utf8)) }
            } catch {
                FileHandle.standardError.write(Data("pinpipe: \(error)\n".utf8))
                throw ExitCode(78)
            }
        }
        if configuration.roles.contains(.rest), configuration.rest.authentication == .basic,
           credentials || configuration.rest.credentialsFile != nil {
            do {
                let path = try RestUsers.resolvePath(
                    configured: configuration.rest.credentialsFile, environment: ProcessInfo.processInfo.environment)
                var warnings: [String] = []
                print("# rest users: \(try RestUsers.load(file: path, warnings: &warnings))")
                for warning in warnings { FileHandle.standardError.write(Data("pinpipe: warning: \(warning)\n".utf8)) }
            } catch {
                FileHandle.standardError.write(Data("pinpipe: \(error)\n".utf8))
                throw ExitCode(78)
            }
        }
    }
}
