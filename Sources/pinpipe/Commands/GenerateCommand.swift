import ArgumentParser

struct GenerateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "generate", abstract: "(being written)")

    func run() async throws {
        throw ValidationError("'generate' is not available in this build yet")
    }
}
