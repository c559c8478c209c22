import Testing
import YAML

@Suite struct YAMLParserTests {
    @Test func parsesNestedMappingsWithMarks() throws {
        let text = """
            a: 1
            b:
              c: "x"
              d: [1, two]
            """
        let root = try #require(try YAMLParser.parse(string: text, fileName: "t.yaml"))
        guard case .mapping(let entries, let mark) = root else { Issue.record("not a mapping"); return }
        #expect(mark == YAMLMark(line: 1, column: 1))
        #expect(entries.map(\.key.value) == ["a", "b"])
        guard case .mapping(let inner, _) = entries[1].value else { Issue.record("b not a mapping"); return }
        #expect(inner[0].key.mark == YAMLMark(line: 3, column: 3))
        guard case .scalar(let c) = inner[0].value else { Issue.record("c not scalar"); return }
        #expect(c.value == "x" && c.isQuoted)
        guard case .sequence(let items, _) = inner[1].value else { Issue.record("d not a list"); return }
        #expect(items.count == 2)
        guard case .scalar(let two) = items[1] else { Issue.record("not scalar"); return }
        #expect(two.value == "two" && !two.isQuoted && two.mark == YAMLMark(line: 4, column: 10))
    }

    @Test func reportsSyntaxErrorsWithLineAndColumn() {
        let text = "a: 1\nb: [1, 2\nc: 3\n"
        #expect {
            try YAMLParser.parse(string: text, fileName: "bad.yaml")
        } throws: { error in
            guard let error = error as? YAMLError else { return false }
            return error.code == .syntax && error.file == "bad.yaml" && error.mark != nil
                && error.description.hasPrefix("bad.yaml:")
        }
    }

    @Test func resolvesAliases() throws {
        let text = "base: &b {x: 1}\ncopy: *b\n"
        let root = try #require(try YAMLParser.parse(string: text))
        guard case .mapping(let entries, _) = root else { Issue.record("not a mapping"); return }
        guard case .mapping(let copy, _) = entries[1].value else { Issue.record("alias not resolved"); return }
        #expect(copy.first?.key.value == "x")
    }

    @Test func rejectsSeveralDocuments() {
        #expect(throws: YAMLError.self) { try YAMLParser.parse(string: "a: 1\n---\nb: 2\n") }
    }

    @Test func emptyDocumentIsNil() throws {
        #expect(try YAMLParser.parse(string: "# only a comment\n") == nil)
    }

    @Test func nullScalars() throws {
        let root = try #require(try YAMLParser.parse(string: "a: ~\nb: 'null'\nc:\n"))
        guard case .mapping(let entries, _) = root else { Issue.record("not a mapping"); return }
        let nulls = entries.map { entry -> Bool in
            if case .scalar(let s) = entry.value { return s.isNull }
            return false
        }
        #expect(nulls == [true, false, true])
    }

    @Test func unreadableFileNamesThePath() {
        #expect {
            try YAMLParser.parse(file: "/nonexistent/pinpipe.yaml")
        } throws: { error in
            (error as? YAMLError)?.code == .unreadable
                && (error as? YAMLError)?.description.contains("/nonexistent/pinpipe.yaml") == true
        }
    }

    @Test func libraryVersionIsReported() {
        #expect(YAMLParser.libraryVersion.hasPrefix("0."))
    }
}
