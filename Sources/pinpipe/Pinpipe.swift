import ArgumentParser

/// The `pinpipe` command line: parses arguments, loads configuration and wires services. No logic lives here.
@main
struct Pinpipe: AsyncParsableCommand {
    /// Shown by `pinpipe_build_info`.
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "pinpipe",
        abstract: "Streams the Pinterest tables from PostgreSQL through Kafka into S3.",
        subcommands: [
            RunCommand.self,
            CheckConfigCommand.self,
            VerifyCommand.self,
            StatusCommand.self,
            CDCCommand.self,
            GenerateCommand.self,
            DevBrokerCommand.self,
        ],
        defaultSubcommand: RunCommand.self
    )
}
