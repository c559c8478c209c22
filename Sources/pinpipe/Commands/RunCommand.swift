import ArgumentParser

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "(being written)")

    func run() async throws {
        throw ValidationError("'run' is not available in this build yet")
    }
}
