import Support
import Testing

/// One rule for every place that shows a name and its value: configuration, librdkafka properties, log metadata.
@Suite struct SecretPolicyTests {
    @Test(arguments: [
        "sasl.password", "ssl.key.password", "ssl.key.pem", "ssl_key", "ssl.keystore.password", "client.key.pem",
        "sasl.oauthbearer.client.secret", "sasl.oauthbearer.config", "sasl.jaas.config", "SASL.PASSWORD",
        "db.PASSWORD", "pg_passwd", "s3.secret_access_key", "session-token", "Authorization", "api_key", "apiKey",
        "tls.private_key", "clientSecret", "some.api.token", "aws.credentials",
    ])
    func secretNames(_ name: String) {
        #expect(SecretPolicy.isSecret(name))
        #expect(SecretPolicy.display("hunter2", of: name) == SecretPolicy.mask)
    }

    /// The names the three old rules disagreed on land on one side: a key file's path is shown everywhere.
    @Test(arguments: [
        "ssl.key.location", "ssl.keystore.location", "ssl.ca.location", "ssl.certificate.location", "key.serializer",
        "value.deserializer", "bootstrap.servers", "sasl.username", "sasl.mechanism", "security.protocol", "acks",
        "kafka.topic", "s3.key", "partition", "offset", "aws.access_key_id", "host", "user",
        "credentials_file", "password_file", "sasl.password_file", "ssl.key.file",
    ])
    func ordinaryNames(_ name: String) {
        #expect(!SecretPolicy.isSecret(name))
        #expect(SecretPolicy.display("visible", of: name) == "visible")
    }
}
