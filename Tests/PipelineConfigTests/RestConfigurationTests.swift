import Foundation
import PipelineConfig
import Testing

@Suite struct RestConfigurationTests {
    let minimal = "kafka: {bootstrap_servers: \"127.0.0.1:9092\", topic_prefix: t}\n"

    @Test func theRestRoleRunsAloneWithTheProxysDefaults() throws {
        let config = try PinpipeConfiguration.load(yaml: "roles: [rest]\n" + minimal, file: "r.yaml")
        #expect(config.roles == [.rest])
        #expect(config.rest == RestConfiguration())
        #expect(config.rest.listen.description == "127.0.0.1:8082")
        #expect(config.rest.writableTopics(pipelineTopics: config.topics) == ["t.pin", "t.geo", "t.user"])
        #expect(config.rest.authentication == .none)
    }

    @Test func everyOptionIsReadAndRoundTrips() throws {
        let yaml = "roles: [produce, sink, rest]\n" + minimal + """
            s3: {bucket: b}
            rest:
              listen: "[::1]:18082"
              topics: [t.pin, audit.events]
              max_body_bytes: 2MiB
              max_records: 500
              max_record_bytes: 512KiB
              max_in_flight: 20000
              queue_timeout: 2s
              produce_timeout: 15s
              max_connections: 64
              idle_timeout: 20s
              request_timeout: 5s
              authentication: basic
              credentials_file: /etc/pinpipe/rest_users.yaml

            """
        let config = try PinpipeConfiguration.load(yaml: yaml, file: "r.yaml")
        #expect(config.roles == [.produce, .sink, .rest])
        #expect(config.rest.listen == .init(host: "::1", port: 18082))
        #expect(config.rest.writableTopics(pipelineTopics: config.topics) == ["t.pin", "t.geo", "t.user", "audit.events"])
        #expect(config.rest.maxBodyBytes == 2 << 20 && config.rest.maxRecords == 500)
        #expect(config.rest.maxRecordBytes == 512 << 10 && config.rest.maxInFlight == 20_000)
        #expect(config.rest.queueTimeout == .seconds(2) && config.rest.produceTimeout == .seconds(15))
        #expect(config.rest.maxConnections == 64 && config.rest.idleTimeout == .seconds(20))
        #expect(config.rest.requestTimeout == .seconds(5))
        #expect(config.rest.authentication == .basic && config.rest.credentialsFile == "/etc/pinpipe/rest_users.yaml")
        let again = try PinpipeConfiguration.load(yaml: config.renderEffective(), file: "rendered.yaml")
        #expect(again.rest == config.rest && again.roles == config.roles)
    }

    @Test func badValuesNameFileLineAndKey() {
        let cases: [(String, String)] = [
            ("roles: [rest, proxy]\n", "is not a role (use produce, sink, rest)"),
            ("rest: {listen: \"8082\"}\n", "rest.listen"),
            ("rest: {topics: [\"bad topic\"]}\n", "is not a Kafka topic name"),
            ("rest: {max_records: 0}\n", "rest.max_records"),
            ("rest: {max_records: 100, max_in_flight: 10}\n", "must be at least max_records"),
            ("rest: {max_body_bytes: 1GiB}\n", "at most 64MiB"),
            ("rest: {authentication: digest}\n", "rest.authentication"),
            ("rest: {queue_timeout: soon}\n", "rest.queue_timeout"),
            ("rest: {listn: 1}\n", "rest.listn: unknown key"),
        ]
        for (text, expected) in cases {
            #expect {
                _ = try PinpipeConfiguration.load(yaml: minimal + "s3: {bucket: b}\n" + text, file: "r.yaml")
            } throws: { error in
                let description = "\(error)"
                return description.hasPrefix("r.yaml:") && description.contains(expected)
            }
        }
    }

    @Test func usersFileIsReadAndNeverShown() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rest-users-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("rest_users.yaml").path
        try "users:\n  ingest: \"p@ss:word\"\n".write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o644)
        var warnings: [String] = []
        let users = try RestUsers.load(file: path, warnings: &warnings)
        #expect(users.passwords == ["ingest": "p@ss:word"])
        #expect(!"\(users)".contains("p@ss"))
        #expect(warnings.count == 1 && warnings[0].contains("chmod 600"))
        #expect(try RestUsers.resolvePath(configured: nil, environment: ["CREDENTIALS_DIRECTORY": directory.path]) == path)
        try "users: {}\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: ConfigError.self) { _ = try RestUsers.load(file: path, warnings: &warnings) }
    }
}
