import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import Pipeline
import PipelineConfig

/// `pinpipe status`: a one-screen summary read from the running daemon's `/metrics`.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Shows what the running pinpipe is doing (read from its metrics endpoint, metrics.listen).",
        discussion: "Exit status: 0 ready and every actor alive, 1 not ready or an actor hung, 2 the endpoint did not answer.")

    @Option(name: .shortAndLong, help: "Configuration file (its metrics.listen says where to ask).")
    var config: String = "/etc/pinpipe/pinpipe.yaml"

    @Option(help: "Seconds to wait for the answer.")
    var timeout: Int = 5

    func run() async throws {
        let configuration = try Bootstrap.loadConfiguration(config)
        guard let listen = configuration.metrics.listen else {
            throw CommandFailure(description: "\(config): metrics.listen is null, so pinpipe serves no status; set it (for example 127.0.0.1:9464) and restart pinpipe")
        }
        // Asking 0.0.0.0 or :: means asking this host.
        let host = listen.host == "0.0.0.0" ? "127.0.0.1" : (listen.host == "::" ? "::1" : listen.host)
        let address = MetricsConfiguration.Address(host: host, port: listen.port).description
        let text: String
        do {
            text = try await Self.fetch("http://\(address)/metrics", timeout: .seconds(Int64(timeout)))
        } catch {
            FileHandle.standardError.write(Data("pinpipe status: no answer from http://\(address)/metrics (\(error)); is pinpipe running (systemctl status pinpipe)?\n".utf8))
            throw ExitCode(2)
        }
        let report = StatusReport(figures: MetricsSnapshot(parsing: text), address: address)
        print(report.text, terminator: "")
        if !report.isOK { throw ExitCode(1) }
    }

    static func fetch(_ url: String, timeout: TimeAmount) async throws -> String {
        let request = HTTPClientRequest(url: url)
        let response = try await HTTPClient.shared.execute(request, timeout: timeout)
        guard response.status == .ok else { throw CommandFailure(description: "HTTP \(response.status.code)") }
        let body = try await response.body.collect(upTo: 16 << 20)
        return String(buffer: body)
    }
}
