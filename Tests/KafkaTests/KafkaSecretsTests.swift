import Support
import Testing

@testable import Kafka

@Suite struct KafkaSecretsTests {
    @Test(arguments: [
        "sasl.password", "ssl.key.password", "ssl.key.pem", "ssl.keystore.password", "sasl.oauthbearer.client.secret",
        "sasl.oauthbearer.config", "SASL.PASSWORD", "ssl_key", "some.api.token",
    ])
    func secretPropertiesAreMasked(_ name: String) {
        #expect(SecretPolicy.isSecret(name))
        #expect(KafkaSecrets.displayValue("hunter2", of: name) == KafkaSecrets.mask)
    }

    @Test(arguments: [
        "bootstrap.servers", "sasl.username", "sasl.mechanism", "security.protocol", "ssl.key.location",
        "ssl.keystore.location", "key.serializer", "value.deserializer", "acks",
    ])
    func harmlessPropertiesAreShown(_ name: String) {
        #expect(!SecretPolicy.isSecret(name))
        #expect(KafkaSecrets.displayValue("visible", of: name) == "visible")
    }

    @Test func describeMasksOnlySecrets() {
        let text = KafkaSecrets.describe([("sasl.username", "alice"), ("sasl.password", "hunter2")])
        #expect(text == "sasl.username=alice sasl.password=\(KafkaSecrets.mask)")
    }

    @Test func redactRemovesEveryOccurrenceOfASecretValue() {
        let text = KafkaSecrets.redact("bad \"hunter2\" (hunter2)", value: "hunter2", of: "sasl.password")
        #expect(!text.contains("hunter2"))
        #expect(text == "bad \"\(KafkaSecrets.mask)\" (\(KafkaSecrets.mask))")
        #expect(KafkaSecrets.redact("x=5", value: "5", of: "linger.ms") == "x=5")
    }
}
