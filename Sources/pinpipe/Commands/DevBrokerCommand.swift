import ArgumentParser

struct DevBrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "dev-broker", abstract: "(being written)")

    func run() async throws {
        throw ValidationError("'dev-broker' is not available in this build yet")
    }
}
