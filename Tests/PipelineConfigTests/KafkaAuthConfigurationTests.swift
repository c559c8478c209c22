import Foundation
import Testing

@testable import PipelineConfig

/// `kafka.auth` and `kafka.tls`: parsing, the properties they stand for, secrets kept out of the file and the
/// output, and the TLS file checks `check-config` runs.
@Suite final class KafkaAuthConfigurationTests {
    /// Each test's files, removed when the test ends (a fresh instance per test).
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("pinpipe-auth-\(UUID().uuidString)")

    deinit { try? FileManager.default.removeItem(at: scratch) }

    func load(_ kafka: String) throws(ConfigError) -> PinpipeConfiguration {
        try PinpipeConfiguration.load(
            yaml: "kafka:\n  bootstrap_servers: b:9098\n  topic_prefix: p\n\(kafka)\ns3: {bucket: b}\n", file: "k.yaml")
    }

    func error(_ kafka: String) -> String? {
        do {
            _ = try load(kafka)
            return nil
        } catch { return error.description }
    }

    func temporaryFile(_ name: String, _ content: String, mode: Int = 0o600) throws -> String {
        let directory = scratch.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent(name).path
        try content.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        return path
    }

    @Test func mskIAMSetsSASLSSLAndOAuthBearerAndRoundTrips() throws {
        let config = try load("  auth: {mechanism: aws_msk_iam, region: eu-west-1, profile: msk}")
        #expect(config.kafka.auth.mechanism == .awsMSKIAM)
        #expect(config.kafka.auth.region == "eu-west-1" && config.kafka.auth.profile == "msk")
        #expect(config.kafka.tls.enabled)
        #expect(config.kafka.securityProperties(password: nil)
            == ["security.protocol": "SASL_SSL", "sasl.mechanism": "OAUTHBEARER"])
        let reparsed = try PinpipeConfiguration.load(yaml: config.renderEffective(), file: "rendered.yaml")
        #expect(reparsed.kafka == config.kafka)
    }

    @Test func scramReadsThePasswordFromItsFileAndNeverShowsIt() throws {
        let secret = "s3cr3t-\(UUID().uuidString)"
        let path = try temporaryFile("kafka_password", secret + "\n")
        let config = try load("  auth: {mechanism: scram-sha-512, username: alice, password_file: \"\(path)\"}")
        var warnings: [String] = []
        let password = try KafkaSecurityFiles.password(config.kafka.auth, environment: [:], warnings: &warnings)
        #expect(password == secret)
        #expect(warnings.isEmpty)
        #expect(config.kafka.securityProperties(password: password) == [
            "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "alice",
            "sasl.password": secret,
        ])
        #expect(!config.renderEffective().contains(secret))
        #expect(config.renderEffective().contains("password_file: \"\(path)\""))
    }

    @Test func thePasswordFileDefaultsToTheSystemdCredential() throws {
        let path = try temporaryFile("kafka_password", "pw", mode: 0o644)
        let directory = (path as NSString).deletingLastPathComponent
        let config = try load("  auth: {mechanism: scram-sha-256, username: bob}\n  tls: {enabled: true}")
        var warnings: [String] = []
        let password = try KafkaSecurityFiles.password(config.kafka.auth, environment: ["CREDENTIALS_DIRECTORY": directory],
                                                       warnings: &warnings)
        #expect(password == "pw")
        #expect(warnings.first?.contains("readable by group or others") == true)
        #expect(config.kafka.securityProperties(password: password)["security.protocol"] == "SASL_SSL")
        #expect(throws: ConfigError.self) {
            try KafkaSecurityFiles.password(config.kafka.auth, environment: [:], warnings: &warnings)
        }
        do {
            _ = try KafkaSecurityFiles.password(config.kafka.auth, environment: ["CREDENTIALS_DIRECTORY": "/nonexistent"],
                                                warnings: &warnings)
            Issue.record("a missing password file was accepted")
        } catch {
            #expect(error.description.hasPrefix("/nonexistent/kafka_password: cannot read the Kafka password file"))
        }
    }

    @Test func badAuthSectionsNameTheKey() {
        #expect(error("  auth: {mechanism: scram-sha-512, username: a, password: hunter2}")?
            .hasPrefix("k.yaml:4:59: kafka.auth.password: the password never goes into the main configuration") == true)
        #expect(error("  auth: {mechanism: aws_msk_iam}")?.contains("kafka.auth.region: missing required value") == true)
        #expect(error("  auth: {mechanism: scram-sha-512}")?.contains("kafka.auth.username: missing required value") == true)
        #expect(error("  auth: {mechanism: kerberos}")?.contains("kafka.auth.mechanism: \"kerberos\" is not one of") == true)
        #expect(error("  auth: {mechanism: plain, username: a, region: x}")?
            .contains("kafka.auth.region: does not apply to mechanism plain") == true)
        #expect(error("  auth: {mechanism: plain, username: a}\n  properties: {sasl.password: x}")?
            .contains("kafka.properties: sasl.password is set by kafka.auth/kafka.tls") == true)
        #expect(error("  tls: {cert_file: /c.pem}")?.contains("kafka.tls.key_file: a client certificate needs both") == true)
    }

    @Test func secretsOfTheIAMCredentialsAreMasked() throws {
        let config = try load("  auth: {mechanism: aws_msk_iam, region: us-east-1, credentials: "
            + "{access_key_id: AKIDX, secret_access_key: very-secret-key, session_token: very-secret-token}}")
        let rendered = config.renderEffective()
        #expect(!rendered.contains("very-secret"))
        #expect(rendered.contains("access_key_id: \"AKIDX\""))
        #expect(config.kafka.auth.staticCredentials?.secretAccessKey == "very-secret-key")
    }

    static let certificate = """
        -----BEGIN CERTIFICATE-----
        MIIBszCCAVmgAwIBAgIUJ2p3Y2VydGlmaWNhdGVib2R5MAoGCCqGSM49BAMCMBQx
        -----END CERTIFICATE-----

        """

    @Test func tlsFilesMustExistAndBePEMAndTheErrorNamesThePath() throws {
        let good = try temporaryFile("ca.pem", Self.certificate)
        var tls = KafkaTLSSettings()
        tls.enabled = true
        tls.caFile = good
        try KafkaSecurityFiles.checkTLS(tls)

        tls.caFile = "/nonexistent/ca.pem"
        #expect(throws: ConfigError.self) { try KafkaSecurityFiles.checkTLS(tls) }
        do { try KafkaSecurityFiles.checkTLS(tls) } catch {
            #expect(error.description == "/nonexistent/ca.pem: cannot read kafka.tls.ca_file: No such file or directory")
        }
        let notPEM = try temporaryFile("ca.der", "just some text\n")
        tls.caFile = notPEM
        do {
            try KafkaSecurityFiles.checkTLS(tls)
            Issue.record("a file without PEM blocks was accepted")
        } catch {
            #expect(error.description == "\(notPEM): kafka.tls.ca_file is not a PEM file: no CERTIFICATE block (-----BEGIN ...CERTIFICATE-----)")
        }
        let truncated = try temporaryFile("ca.pem", String(Self.certificate.prefix(80)))
        tls.caFile = truncated
        #expect(throws: ConfigError.self) { try KafkaSecurityFiles.checkTLS(tls) }
        let badBody = try temporaryFile("ca.pem", "-----BEGIN CERTIFICATE-----\n%%%not base64%%%\n-----END CERTIFICATE-----\n")
        tls.caFile = badBody
        #expect(throws: ConfigError.self) { try KafkaSecurityFiles.checkTLS(tls) }
        // A certificate is not a key.
        tls.caFile = good
        tls.certFile = good
        tls.keyFile = good
        do {
            try KafkaSecurityFiles.checkTLS(tls)
            Issue.record("a certificate was accepted as the key file")
        } catch {
            #expect(error.description.contains("kafka.tls.key_file is not a PEM file: no PRIVATE KEY block"))
        }
    }
}
