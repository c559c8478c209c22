import Testing
@testable import Systemd

@Suite struct JournalFieldNameTests {
    @Test(arguments: [
        ("kafka.topic", "KAFKA_TOPIC"),
        ("KAFKA_TOPIC", "KAFKA_TOPIC"),
        ("pinpipe.partition", "PINPIPE_PARTITION"),
        ("s3-key", "S3_KEY"),
        ("a..b", "A_B"),
        ("a - b", "A_B"),
        ("_private", "PRIVATE"),
        ("__x__", "X"),
        ("trailing.", "TRAILING"),
        ("2fa", "F2FA"),
        ("0", "F0"),
        ("9.lives", "F9_LIVES"),
        ("camelCaseKey", "CAMELCASEKEY"),
        ("größe", "GR_E"),
        ("日本", "META"),
        ("", "META"),
        ("...", "META"),
        ("message", "META_MESSAGE"),
        ("Priority", "META_PRIORITY"),
        ("code.file", "META_CODE_FILE"),
        ("syslog_identifier", "META_SYSLOG_IDENTIFIER"),
        ("message.id", "META_MESSAGE_ID"),
        ("message_text", "MESSAGE_TEXT"),
    ])
    func sanitises(key: String, expected: String) {
        #expect(JournalFieldName.sanitize(key) == expected)
    }

    @Test func truncatesTo64WithoutTrailingUnderscore() {
        let long = String(repeating: "a", count: 63) + ".b" + String(repeating: "c", count: 10)
        let name = JournalFieldName.sanitize(long)
        #expect(name.count <= 64)
        #expect(name == String(repeating: "A", count: 63))
        let exact = String(repeating: "x", count: 64)
        #expect(JournalFieldName.sanitize(exact) == String(repeating: "X", count: 64))
        #expect(JournalFieldName.sanitize(exact + "y").count == 64)
    }

    @Test(arguments: ["kafka.topic", "1.2.3", "__a", "ü-ber", "x y z", "message", String(repeating: "é", count: 200)])
    func resultIsAlwaysValid(key: String) {
        let name = JournalFieldName.sanitize(key)
        #expect(!name.isEmpty && name.count <= 64)
        #expect(name.allSatisfy { ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" })
        #expect(name.first != "_" && !(name.first.map { ("0"..."9").contains($0) } ?? true))
    }
}
