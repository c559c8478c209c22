import ArgumentParser
import Foundation
import Kafka
import Logging
import Pipeline
import PipelineConfig

/// `pinpipe check-config`: validates the configuration (and the credentials file), prints the effective
/// configuration with secrets masked, and exits non-zero on any error.
struct CheckConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validates the configuration and prints the effective configuration with secrets masked.")

    @Option(name: .shortAndLong, help: "Configuration file.")
    var config: String = "/etc/pinpipe/pinpipe.yaml"

    @Flag(help: "Also read the database credentials file.")
    var credentials = false

    @Flag(help: "Also connect to Kafka with the configured authentication and print the cluster id, brokers and API versions.")
    var probeKafka = false

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
        let environment = ProcessInfo.processInfo.environment
        let kafka = configuration.kafka
        do {
            // TLS files are local: always checked. The password file like the database credentials file.
            try KafkaSecurityFiles.checkTLS(kafka.tls)
            var access = KafkaAccess(plain: kafka)
            if credentials || probeKafka || kafka.auth.passwordFile != nil {
                access = try KafkaAccess.resolve(kafka, environment: environment, logger: Logger(label: "pinpipe.check-config"))
            }
            print("# kafka: auth \(access.mechanismSummary)")
            if probeKafka { try await probe(access) }
        } catch let error as ExitCode {
            throw error
        } catch {
            FileHandle.standardError.write(Data("pinpipe: \(error)\n".utf8))
            throw ExitCode(78)
        }
    }

    /// Connects with the configured authentication and prints what the cluster says about itself.
    private func probe(_ access: KafkaAccess) async throws {
        var logging = LoggingConfiguration()
        logging.level = .error
        logging.output = .console
        Bootstrap.logging(logging)
        var configuration = access.producerConfiguration(maxInFlight: 1)
        configuration.captureAPIVersions = true
        let producer = try KafkaProducer(configuration: configuration, logger: Logger(label: "pinpipe.check-config"))
        do {
            let cluster = try await producer.describeCluster(timeout: .seconds(15))
            await producer.shutdown(timeout: .seconds(1))
            print("# kafka: librdkafka \(KafkaLibrary.version); cluster id \(cluster.clusterID ?? "not reported"), "
                  + "controller \(cluster.controllerID.map(String.init) ?? "not reported"), "
                  + "brokers \(cluster.brokers.map(\.description).joined(separator: ", "))")
            print("# kafka: broker version: \(cluster.brokerVersionSummary)")
        } catch {
            await producer.shutdown(timeout: .seconds(1))
            FileHandle.standardError.write(Data("pinpipe: Kafka probe failed (\(access.mechanismSummary)): \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
