import Foundation
import PipelineConfig
import Support
import Testing

private let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
private let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

private func fixture(_ name: String) -> String { fixtures.appendingPathComponent(name).path }

private func loadError(_ name: String) -> ConfigError? {
    do {
        _ = try PinpipeConfiguration.load(file: fixture(name))
        return nil
    } catch {
        return error
    }
}

@Suite struct ConfigurationLoadingTests {
    @Test func exampleConfigurationLoadsWithDocumentedDefaults() throws {
        let config = try PinpipeConfiguration.load(file: repoRoot.appendingPathComponent("config/pinpipe.yaml").path)
        #expect(config.roles == [.produce, .sink])
        #expect(config.source.mode == .snapshot)
        #expect(config.source.tables.map(\.table) == ["pinterest_data", "geolocation_data", "user_data"])
        #expect(config.source.tables.map(\.keyColumn) == ["index", "ind", "ind"])
        #expect(config.source.tableHeader == false)
        #expect(config.kafka.topicPrefix == "0ab336d6fcf7")
        #expect(config.topics == ["0ab336d6fcf7.pin", "0ab336d6fcf7.geo", "0ab336d6fcf7.user"])
        #expect(config.s3.bucket == "user-0ab336d6fcf7-bucket")
        #expect(config.s3.batch == BatchLimits(maxRecords: 10_000, maxBytes: 16 << 20, maxAge: .seconds(60)))
        #expect(config.s3.deadLetter == .s3Prefix("dead-letter"))
        #expect(config.source.emulate.seed == 100)
        #expect(config.kafka.maxInFlight == 10_000)
        #expect(config.kafka.exactlyOnce && config.kafka.transaction == KafkaTransactionSettings())
        #expect(config.kafka.effectiveTransactionalID == "pinpipe-0ab336d6fcf7")
        #expect(config.kafka.offsetsTopic == "0ab336d6fcf7.pinpipe-offsets")
        #expect(config.s3.staticCredentials == nil)
        // The example documents every default: loading it equals the built-in defaults where it sets nothing else.
        #expect(config.source.reconnect == ReconnectSettings())
        #expect(config.logging == LoggingConfiguration())
    }

    @Test func unknownKeyNamesFileLineColumnAndPath() {
        #expect(loadError("unknown-key.yaml")?.description
            == "\(fixture("unknown-key.yaml")):4:3: kafka.partitons: unknown key (known keys here: auth, bootstrap_servers, "
            + "consumer_properties, create_topics, exactly_once, group_id, join_timeout, max_in_flight, on_data_loss, "
            + "partitions, producer_properties, properties, replication_factor, tls, topic_prefix, transaction, "
            + "transactional_id)")
        #expect(loadError("unknown-key.yaml")?.code == .unknownKey)
    }

    @Test func exactlyOnceSettings() throws {
        let text = """
            kafka:
              bootstrap_servers: "b:9092"
              topic_prefix: p
              exactly_once: false
              transaction: {max_records: 500, max_interval: 250ms}
              transactional_id: pinpipe-east
            s3: {bucket: b}
            """
        let config = try PinpipeConfiguration.load(yaml: text, file: "eos.yaml")
        #expect(!config.kafka.exactlyOnce)
        #expect(config.kafka.transaction == KafkaTransactionSettings(maxRecords: 500, maxInterval: .milliseconds(250)))
        #expect(config.kafka.effectiveTransactionalID == "pinpipe-east")
        let reparsed = try PinpipeConfiguration.load(yaml: config.renderEffective(), file: "rendered.yaml")
        #expect(reparsed.kafka == config.kafka)
        func error(_ line: String) -> String? {
            do {
                _ = try PinpipeConfiguration.load(
                    yaml: "kafka:\n  bootstrap_servers: b\n  topic_prefix: p\n\(line)\ns3: {bucket: b}\n", file: "bad.yaml")
                return nil
            } catch { return error.description }
        }
        #expect(error("  transaction: {max_interval: 2m}")
            == "bad.yaml:4:31: kafka.transaction.max_interval: must be at most 50s (librdkafka's transaction.timeout.ms is 60s), got 2m")
        #expect(error("  transaction: {max_records: 0}")
            == "bad.yaml:4:30: kafka.transaction.max_records: 0 is out of range (1...10000000)")
        #expect(error("  transaction: {max_record: 5}")?.hasPrefix("bad.yaml:4:17: kafka.transaction.max_record: unknown key") == true)
        #expect(error("  transactional_id: \"a b\"")?.hasPrefix("bad.yaml:4:21: kafka.transactional_id: must be a non-empty") == true)
        #expect(error("  exactly_once: maybe") == "bad.yaml:4:17: kafka.exactly_once: expected true or false, got \"maybe\"")
    }

    @Test func changeCaptureSettings() throws {
        let base = "kafka: {bootstrap_servers: b, topic_prefix: 0ab3-X}\ns3: {bucket: b}\n"
        let defaults = try PinpipeConfiguration.load(yaml: base, file: "cdc.yaml")
        #expect(defaults.cdcSlot == "pinpipe_0ab3_x" && defaults.cdcPublication == "pinpipe_0ab3_x")
        let config = try PinpipeConfiguration.load(
            yaml: base + "source:\n  cdc: {slot: s1, publication: p_1, lag_warning_bytes: 1000}\n", file: "cdc.yaml")
        #expect(config.cdcSlot == "s1" && config.cdcPublication == "p_1")
        #expect(config.source.cdc.lagWarningBytes == 1000)
        let reparsed = try PinpipeConfiguration.load(yaml: config.renderEffective(), file: "rendered.yaml")
        #expect(reparsed.source.cdc == config.source.cdc)
        #expect(throws: ConfigError.self) { try PinpipeConfiguration.load(yaml: base + "source:\n  cdc: {slot: Bad-Name}\n", file: "bad.yaml") }
        do {
            _ = try PinpipeConfiguration.load(yaml: base + "source:\n  cdc: {slot: Bad-Name}\n", file: "bad.yaml")
        } catch {
            #expect(error.description.contains("source.cdc.slot: 'Bad-Name' is not a valid name"))
        }
    }

    @Test func wrongType() {
        #expect(loadError("wrong-type.yaml")?.description
            == "\(fixture("wrong-type.yaml")):4:18: kafka.max_in_flight: expected an integer, got \"lots\"")
    }

    @Test func missingRequiredValue() {
        #expect(loadError("missing-value.yaml")?.description
            == "\(fixture("missing-value.yaml")):2:3: kafka.bootstrap_servers: missing required value "
            + "(host:port of at least one broker)")
        #expect(loadError("missing-value.yaml")?.code == .missingValue)
    }

    @Test func invalidDuration() {
        #expect(loadError("invalid-duration.yaml")?.description
            == "\(fixture("invalid-duration.yaml")):7:14: s3.batch.max_age: invalid duration \"5 parsecs\" "
            + "(use a number with a unit: 500ms, 30s, 5m, 1h)")
    }

    @Test func invalidSize() {
        #expect(loadError("invalid-size.yaml")?.description
            == "\(fixture("invalid-size.yaml")):7:16: s3.batch.max_bytes: invalid size \"16 MeB\" "
            + "(use bytes or a unit: 512KiB, 16MiB, 1GiB, 10MB)")
    }

    @Test func invalidChoice() {
        #expect(loadError("invalid-choice.yaml")?.description
            == "\(fixture("invalid-choice.yaml")):2:9: source.mode: \"stream\" is not one of: emulate, snapshot, follow, cdc")
    }

    @Test func duplicateKey() {
        #expect(loadError("duplicate-key.yaml")?.description
            == "\(fixture("duplicate-key.yaml")):4:3: kafka.topic_prefix: duplicate key (first set at line 3)")
    }

    @Test func malformedFile() {
        let error = loadError("malformed.yaml")
        #expect(error?.code == .malformedFile)
        #expect(error?.description.hasPrefix("\(fixture("malformed.yaml")):6:1: YAML syntax error: ") == true)
    }

    @Test func unreadableFile() {
        let error = loadError("does-not-exist.yaml")
        #expect(error?.code == .unreadableFile)
        #expect(error?.description == "\(fixture("does-not-exist.yaml")): cannot open the file: No such file or directory")
    }

    @Test func sinkRoleNeedsABucketButProduceDoesNot() throws {
        let produceOnly = try PinpipeConfiguration.load(
            yaml: "roles: [produce]\nkafka: {bootstrap_servers: 'a:1', topic_prefix: p}\n", file: "inline.yaml")
        #expect(produceOnly.roles == [.produce])
        #expect {
            try PinpipeConfiguration.load(yaml: "roles: [sink]\nkafka: {bootstrap_servers: 'a:1', topic_prefix: p}\n",
                                          file: "inline.yaml")
        } throws: { ($0 as? ConfigError)?.keyPath == "s3.bucket" }
    }

    @Test func dataLossPolicyAndTheOffsetSettingsPinpipeOwns() throws {
        let base = "roles: [produce]\nkafka: {bootstrap_servers: 'a:1', topic_prefix: p"
        #expect(try PinpipeConfiguration.load(yaml: base + "}\n", file: "inline.yaml").kafka.onDataLoss == .stop)
        #expect(try PinpipeConfiguration.load(yaml: base + ", on_data_loss: record}\n", file: "inline.yaml").kafka.onDataLoss == .record)
        #expect(throws: ConfigError.self) { try PinpipeConfiguration.load(yaml: base + ", on_data_loss: skip}\n", file: "inline.yaml") }
        do {
            _ = try PinpipeConfiguration.load(
                yaml: base + ", consumer_properties: {auto.offset.reset: earliest}}\n", file: "inline.yaml")
            Issue.record("auto.offset.reset was accepted")
        } catch {
            #expect("\(error)".contains("kafka.consumer_properties") && "\(error)".contains("auto.offset.reset is managed by pinpipe"))
        }
    }

    @Test func verifyFullNeedsACertificate() {
        #expect {
            try PinpipeConfiguration.load(
                yaml: "source: {sslmode: verify-full}\nkafka: {bootstrap_servers: 'a:1', topic_prefix: p}\ns3: {bucket: b}\n",
                file: "inline.yaml")
        } throws: { ($0 as? ConfigError)?.keyPath == "source.sslrootcert" }
    }

    @Test func valueParsers() {
        #expect(ValueParsers.duration("250ms") == .milliseconds(250))
        #expect(ValueParsers.duration("1h30m") == .seconds(5400))
        #expect(ValueParsers.duration("1.5s") == .milliseconds(1500))
        #expect(ValueParsers.duration("0") == .zero)
        #expect(ValueParsers.duration("10") == nil)
        #expect(ValueParsers.duration("-1s") == nil)
        #expect(ValueParsers.byteSize("16MiB") == 16 << 20)
        #expect(ValueParsers.byteSize("10MB") == 10_000_000)
        #expect(ValueParsers.byteSize("512") == 512)
        #expect(ValueParsers.byteSize("1.5KiB") == 1536)
        #expect(ValueParsers.byteSize("lots") == nil)
        #expect(ValueParsers.format(.seconds(90)) == "90s")
        #expect(ValueParsers.format(.milliseconds(1500)) == "1500ms")
        #expect(ValueParsers.formatSize(16 << 20) == "16MiB")
    }
}

@Suite struct SecretMaskingTests {
    @Test func effectiveConfigurationMasksSecrets() throws {
        let text = """
            kafka:
              bootstrap_servers: "b:9092"
              topic_prefix: p
              properties: {sasl.password: hunter2-kafka, sasl.username: alice, ssl.key.password: k3y-pass}
            s3:
              bucket: b
              credentials: {access_key_id: AKIAEXAMPLE, secret_access_key: wJalrXUtn-s3-secret, session_token: tok-123}
            """
        let config = try PinpipeConfiguration.load(yaml: text, file: "inline.yaml")
        #expect(config.kafka.properties["sasl.password"] == "hunter2-kafka")
        let rendered = config.renderEffective()
        for secret in ["hunter2-kafka", "k3y-pass", "wJalrXUtn-s3-secret", "tok-123"] {
            #expect(!rendered.contains(secret), "\(secret) leaked into check-config output")
        }
        #expect(rendered.contains("sasl.username: \"alice\""))
        #expect(rendered.contains("access_key_id: \"AKIAEXAMPLE\""))
        #expect(rendered.contains("sasl.password: \"***\""))
        // What check-config prints is itself a valid configuration.
        let reparsed = try PinpipeConfiguration.load(yaml: rendered, file: "rendered.yaml")
        #expect(reparsed.kafka.properties["sasl.username"] == "alice")
        #expect(reparsed.s3.batch == config.s3.batch)
    }

    @Test func propertyNames() {
        #expect(SecretPolicy.isSecret("sasl.password"))
        #expect(SecretPolicy.isSecret("ssl.key.password"))
        #expect(SecretPolicy.isSecret("sasl.oauthbearer.client.secret"))
        #expect(SecretPolicy.isSecret("ssl.key.pem"))
        #expect(!SecretPolicy.isSecret("sasl.username"))
        #expect(!SecretPolicy.isSecret("bootstrap.servers"))
        #expect(!SecretPolicy.isSecret("ssl.ca.location"))
    }
}

@Suite struct DatabaseCredentialsTests {
    @Test func loadsTheOriginalKeysAndNeverPrintsThePassword() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("creds-\(UUID().uuidString).yaml").path
        try FileManager.default.copyItem(atPath: fixture("db_creds.yaml"), toPath: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        chmod(path, 0o600)
        var warnings: [String] = []
        let creds = try DatabaseCredentials.load(file: path, warnings: &warnings)
        #expect(creds.host == "127.0.0.1" && creds.port == 5432 && creds.user == "pinpipe" && creds.database == "pinterest")
        #expect(creds.password == "s3cr3t-pa55")
        #expect(warnings.isEmpty)
        #expect(!creds.description.contains("s3cr3t-pa55"))
    }

    @Test func warnsWhenReadableByOthers() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("creds-\(UUID().uuidString).yaml").path
        try FileManager.default.copyItem(atPath: fixture("db_creds.yaml"), toPath: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        chmod(path, 0o644)
        var warnings: [String] = []
        _ = try DatabaseCredentials.load(file: path, warnings: &warnings)
        #expect(warnings == ["\(path) is readable by group or others (mode 644); restrict it with chmod 600"])
    }

    @Test func badPortNamesTheKey() {
        var warnings: [String] = []
        #expect {
            try DatabaseCredentials.load(file: fixture("db_creds-bad-port.yaml"), warnings: &warnings)
        } throws: {
            ($0 as? ConfigError)?.description == "\(fixture("db_creds-bad-port.yaml")):2:7: PORT: expected an integer, got \"five\""
        }
    }

    @Test func credentialsDirectoryFromSystemd() throws {
        #expect(try DatabaseCredentials.resolvePath(configured: nil, environment: ["CREDENTIALS_DIRECTORY": "/run/credentials/pinpipe.service"])
            == "/run/credentials/pinpipe.service/db_creds.yaml")
        #expect(try DatabaseCredentials.resolvePath(configured: "/x.yaml", environment: [:]) == "/x.yaml")
        #expect(throws: ConfigError.self) { try DatabaseCredentials.resolvePath(configured: nil, environment: [:]) }
    }

    @Test func missingCredentialsFile() {
        var warnings: [String] = []
        #expect {
            try DatabaseCredentials.load(file: "/nonexistent/db_creds.yaml", warnings: &warnings)
        } throws: {
            ($0 as? ConfigError)?.description
                == "/nonexistent/db_creds.yaml: cannot read the database credentials file: No such file or directory"
        }
    }
}
