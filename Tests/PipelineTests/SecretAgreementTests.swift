import Kafka
import Logging
import PipelineConfig
import Support
import Systemd
import Testing

/// Every place that shows a name and its value (configuration rendering, librdkafka property lines, log metadata)
/// asks the one `SecretPolicy`: this table runs each name through all three and through the policy itself, so
/// they can never disagree again (the old rules did, e.g. on `ssl.key.location`).
@Suite struct SecretAgreementTests {
    static let table: [(name: String, secret: Bool)] = [
        ("sasl.password", true), ("ssl.key.password", true), ("ssl.key.pem", true), ("ssl_key", true),
        ("ssl.keystore.password", true), ("sasl.oauthbearer.client.secret", true), ("sasl.oauthbearer.config", true),
        ("sasl.jaas.config", true), ("PASSWORD", true), ("s3.secret_access_key", true), ("session_token", true),
        ("Authorization", true), ("api_key", true),
        ("ssl.key.location", false), ("ssl.keystore.location", false), ("ssl.ca.location", false),
        ("credentials_file", false), ("password_file", false), ("sasl.password_file", false),
        ("bootstrap.servers", false), ("sasl.username", false), ("key.serializer", false), ("s3.key", false),
        ("aws.access_key_id", false), ("USER", false),
    ]

    @Test(arguments: table.map(\.name))
    func everyFrontEndAgreesWithThePolicy(_ name: String) throws {
        let expected = try #require(Self.table.first { $0.name == name }).secret
        let value = "v4lue-\(name.count)"
        let shown = expected ? SecretPolicy.mask : value
        #expect(SecretPolicy.isSecret(name) == expected)
        #expect(SecretMasking.masked([name: value])[name] == shown, "configuration rendering")
        #expect(KafkaSecrets.displayValue(value, of: name) == shown, "librdkafka property")
        #expect(KafkaSecrets.describe([(name, value)]) == "\(name)=\(shown)", "librdkafka property line")
        let redacted = LogSecrets.redact([name: .string(value)])[name]
        #expect(redacted.map { "\($0)" } == shown, "log metadata")
        let nested = LogSecrets.redact(["kafka": .dictionary([name: .string(value)])])
        guard case .dictionary(let inner)? = nested["kafka"] else {
            Issue.record("nested metadata lost")
            return
        }
        #expect(inner[name].map { "\($0)" } == shown, "nested log metadata")
    }
}
