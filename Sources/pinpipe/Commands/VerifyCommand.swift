import ArgumentParser

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "verify", abstract: "(being written)")

    func run() async throws {
        throw ValidationError("'verify' is not available in this build yet")
    }
}
