import Postgres
import Testing

/// Decoding of pgoutput messages, with bytes PostgreSQL 15 wrote (captured with
/// `pg_logical_slot_peek_binary_changes(..., 'proto_version', '1', ...)` for a table
/// `cdc_probe (id integer PRIMARY KEY, t text, f double precision, ts timestamp, n numeric)`).
@Suite struct PgOutputMessageTests {
    static func hex(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            bytes.append(UInt8(text[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }

    static let begin = hex("4200000001040a00a8000304e8f151344c00002246")
    static let relation = hex("52000045687075626c6963006364635f70726f6265006400050169640000000017ffffffff00740000000019ffffffff006600000002bdffffffff007473000000045affffffff006e00000006a4ffffffff")
    static let insert = hex("49000045684e000574000000013174000000036122627400000003312e357400000013323032302d30312d30322030333a30343a3035740000000531322e3330")
    static let commit = hex("430000000001040a00a800000001040a00d8000304e8f151344c")
    static let update = hex("55000045684e00057400000001316e7400000003312e357400000013323032302d30312d30322030333a30343a3035740000000531322e3330")
    static let delete = hex("44000045684b00057400000001316e6e6e6e")
    static let truncate = hex("54000000010000004568")

    @Test func beginAndCommit() throws {
        guard case .begin(let final, let time, let xid) = try PgOutputMessage.decode(Self.begin) else {
            Issue.record("not a begin"); return
        }
        #expect(final.description == "1/40A00A8")
        #expect(xid == 8774)
        #expect(time.unixMilliseconds > 1_700_000_000_000)  // 2026
        guard case .commit(let commit, let end, let commitTime) = try PgOutputMessage.decode(Self.commit) else {
            Issue.record("not a commit"); return
        }
        #expect(commit == final)
        #expect(end.description == "1/40A00D8")
        #expect(commitTime == time)
    }

    @Test func relation() throws {
        guard case .relation(let r) = try PgOutputMessage.decode(Self.relation) else { Issue.record("not R"); return }
        #expect(r.namespace == "public" && r.name == "cdc_probe" && r.oid == 17768)
        #expect(r.replicaIdentity == .default)
        #expect(r.columns.map(\.name) == ["id", "t", "f", "ts", "n"])
        #expect(r.columns.map(\.typeOID) == [23, 25, 701, 1114, 1700])
        #expect(r.columns.map(\.isKey) == [true, false, false, false, false])
        #expect(r.columns.allSatisfy { $0.typeModifier == -1 })
    }

    @Test func changes() throws {
        let text = { (s: String) in PgOutputTuple.Value.text(ArraySlice(s.utf8)) }
        #expect(try PgOutputMessage.decode(Self.insert) == .insert(relation: 17768, new: PgOutputTuple(values: [
            text("1"), text("a\"b"), text("1.5"), text("2020-01-02 03:04:05"), text("12.30")])))
        #expect(try PgOutputMessage.decode(Self.update) == .update(relation: 17768, old: nil, oldIsKeyOnly: false,
            new: PgOutputTuple(values: [text("1"), .null, text("1.5"), text("2020-01-02 03:04:05"), text("12.30")])))
        #expect(try PgOutputMessage.decode(Self.delete) == .delete(relation: 17768, old: PgOutputTuple(values: [
            text("1"), .null, .null, .null, .null]), oldIsKeyOnly: true))
        #expect(try PgOutputMessage.decode(Self.truncate) == .truncate(relations: [17768], cascade: false, restartIdentity: false))
    }

    @Test func theSameRowEncodesAsTheSnapshotWouldEncodeIt() throws {
        guard case .relation(let r) = try PgOutputMessage.decode(Self.relation),
              case .insert(_, let tuple) = try PgOutputMessage.decode(Self.insert) else { Issue.record("fixtures"); return }
        let encoder = try PostgresRowEncoder(columns: r.columns.map { PostgresColumn(name: $0.name, typeOID: $0.typeOID) },
                                             keyColumn: "id")
        var json: [UInt8] = []
        encoder.encodeValue(tuple, into: &json)
        #expect(String(decoding: json, as: UTF8.self)
                == #"{"id":1,"t":"a\"b","f":1.5,"ts":"2020-01-02T03:04:05","n":12.30}"#)
    }

    @Test(arguments: [
        ([UInt8](), "message kind"),
        (PgOutputMessageTests.begin.dropLast(1).map { $0 }, "xid"),
        (PgOutputMessageTests.insert + [0], "1 bytes after"),
        ([UInt8(ascii: "Z")], "unknown message kind 'Z'"),
        (hex("49000045684b0000"), "insert's new tuple marker is 'K', not 'N'"),
        (hex("4900004568"+"4e0001"+"7a"), "unknown tuple value kind 'z'"),
        (hex("49000045684e0001740000ffff41"), "ends inside the text value"),
        (hex("52000045687075626c6963"), "relation namespace has no terminating NUL"),
    ])
    func malformedMessagesNameWhatIsWrong(bytes: [UInt8], expected: String) {
        #expect {
            _ = try PgOutputMessage.decode(bytes)
        } throws: { error in
            "\(error)".contains(expected)
        }
    }

    @Test func lsnText() {
        #expect(PostgresLSN("16/B374D848")?.value == 0x16_B374_D848)
        #expect(PostgresLSN("0/0") == .zero)
        #expect(PostgresLSN(0x1_0409_FF98).description == "1/409FF98")
        for value: UInt64 in [0, 0x1_0409_FF98, 0x16_B374_D848, 0xFFFF_FFFF_FFFF_FFFF, 0x1_0000_0000, 0xF, 0xA0_0000_000A] {
            #expect(PostgresLSN(value).utf8 == Array(PostgresLSN(value).description.utf8), "\(value)")
        }
        for bad in ["", "1", "1/", "/1", "G/1", "123456789/1", "1/2/3", "-1/1"] { #expect(PostgresLSN(bad) == nil, "\(bad)") }
        #expect(PostgresLSN("1/0")! > PostgresLSN("0/FFFFFFFF")!)
    }
}
