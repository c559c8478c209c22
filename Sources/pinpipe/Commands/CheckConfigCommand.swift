import ArgumentParser

struct CheckConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check-config", abstract: "(being written)")

    func run() async throws {
        throw ValidationError("'check-config' is not available in this build yet")
    }
}
