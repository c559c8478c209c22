import Logging
import Support
import Testing
@testable import Systemd

@Suite struct LogSecretsTests {
    @Test(arguments: ["password", "db.PASSWORD", "pg_passwd", "s3.secret_access_key", "session-token",
                      "Authorization", "api_key", "apiKey", "tls.private_key", "clientSecret"])
    func secretKeys(key: String) {
        #expect(SecretPolicy.isSecret(key))
    }

    @Test(arguments: ["kafka.topic", "user", "host", "partition", "s3.key", "offset", "tokenizer_count_x"])
    func ordinaryKeys(key: String) {
        // "tokenizer…" contains "token": masking errs on the safe side, so only the others are ordinary.
        #expect(SecretPolicy.isSecret(key) == key.lowercased().contains("token"))
    }

    @Test func masksNestedValuesAndKeepsOthers() {
        let redacted = LogSecrets.redact([
            "user": "alice", "password": "hunter2",
            "s3": .dictionary(["secret_key": "abc", "bucket": "b"]),
        ])
        #expect(redacted["user"] == "alice")
        #expect(redacted["password"] == .string("***"))
        guard case .dictionary(let nested)? = redacted["s3"] else {
            Issue.record("s3 is no longer a dictionary")
            return
        }
        #expect(nested["secret_key"] == .string("***"))
        #expect(nested["bucket"] == "b")
    }

    @Test func consoleNeverShowsSecret() {
        let sink = LineSink()
        let logger = Logger(label: "sec") { ConsoleLogHandler(label: $0, rateLimiter: nil, output: sink.append) }
        logger.info("connecting", metadata: ["db.password": "hunter2", "db.user": "pin", "nested": ["token": "t0k"]])
        let line = sink.lines.joined()
        #expect(!line.contains("hunter2"))
        #expect(!line.contains("t0k"))
        #expect(line.contains("db.password=***"))
        #expect(line.contains("nested.token=***"))
        #expect(line.contains("db.user=pin"))
    }

    @Test func journalFieldsNeverCarrySecret() {
        let record = LogRecord(level: .info, message: "m", label: "l", metadata: ["PG_PASSWORD": "hunter2"])
        let fields = JournalLogHandler.fields(for: record, identifier: "x")
        #expect(fields.first { $0.name == "PG_PASSWORD" }?.value == "***")
        #expect(!fields.contains { $0.value.contains("hunter2") })
    }
}
