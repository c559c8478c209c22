import Testing

@testable import Pipeline

@Suite struct PartitionAuditTests {
    typealias Object = PartitionAudit.StoredObject

    @Test func cleanWithOneUncommittedObjectButNotComplete() {
        let audit = PartitionAudit(objects: [Object(key: "b", firstOffset: 100, lastOffset: 199),
                                             Object(key: "a", firstOffset: 0, lastOffset: 99)],
                                   committed: 100, low: 0, high: 250)
        #expect(audit.isClean)
        #expect(!audit.isComplete)
        #expect(audit.uncommittedObjects == 1)
        #expect(audit.storedRecords == 200)
        #expect(audit.notYetStored == 50)
    }

    @Test func anEmptyBucketIsNotComplete() {
        let audit = PartitionAudit(objects: [], committed: nil, low: 0, high: 100)
        #expect(audit.isClean && !audit.isComplete && audit.notYetStored == 100)
        let nothing = PartitionAudit(objects: [], committed: nil, low: 0, high: 0)
        #expect(nothing.isComplete)
    }

    @Test func findsGapsOverlapsAndBadCommits() {
        let gap = PartitionAudit(objects: [Object(key: "a", firstOffset: 0, lastOffset: 9),
                                           Object(key: "b", firstOffset: 15, lastOffset: 20)],
                                 committed: 21, low: 0, high: 21)
        #expect(gap.findings == [.gap(from: 10, to: 14)])
        let overlap = PartitionAudit(objects: [Object(key: "a", firstOffset: 0, lastOffset: 9),
                                               Object(key: "b", firstOffset: 5, lastOffset: 20)],
                                     committed: 21, low: 0, high: 21)
        #expect(overlap.findings == [.overlap(firstKey: "a", secondKey: "b", from: 5, to: 9)])
        let committedTooFar = PartitionAudit(objects: [Object(key: "a", firstOffset: 0, lastOffset: 9)],
                                             committed: 15, low: 0, high: 20)
        #expect(committedTooFar.findings == [.committedBeyondObjects(committed: 15, storedUpTo: 10)])
        let missingStart = PartitionAudit(objects: [Object(key: "a", firstOffset: 5, lastOffset: 9)],
                                          committed: 10, low: 0, high: 10)
        #expect(missingStart.findings == [.gap(from: 0, to: 4)])
    }

    @Test func transactionMarkersInsideTheCoverageAreHolesNotGaps() {
        // Records 0...8, a commit marker at 9, records 10...19, a marker at 20, records 21...29, a marker at 30.
        let objects = [Object(key: "a", firstOffset: 0, lastOffset: 8, coversFrom: 0, recordCount: 9),
                       Object(key: "b", firstOffset: 10, lastOffset: 29, coversFrom: 9, recordCount: 19)]
        let audit = PartitionAudit(objects: objects, committed: 30, low: 0, high: 31, notYetStored: 0)
        #expect(audit.findings.isEmpty)
        #expect(audit.isComplete)
        #expect(audit.storedRecords == 28)
        // Without covers-from (an object from before pinpipe recorded it) the marker is a gap: verify cannot know.
        let old = PartitionAudit(objects: [objects[0], Object(key: "b", firstOffset: 10, lastOffset: 29, recordCount: 19)],
                                 committed: 30, low: 0, high: 31, notYetStored: 0)
        #expect(old.findings == [.gap(from: 9, to: 9)])
    }

    @Test func aLossRecordExplainsTheJumpAndIsAlwaysAFinding() {
        let objects = [Object(key: "a", firstOffset: 0, lastOffset: 9, recordCount: 10),
                       Object(key: "b", firstOffset: 40, lastOffset: 49, coversFrom: 40, recordCount: 10)]
        let audit = PartitionAudit(objects: objects, losses: [10...39], committed: 50, low: 40, high: 50, notYetStored: 0)
        #expect(audit.findings == [.loss(from: 10, to: 39)])
        #expect(!audit.isClean && !audit.isComplete)
        // A loss record that covers only part of a jump leaves the rest a gap.
        let partial = PartitionAudit(objects: objects, losses: [10...29], committed: 50, low: 40, high: 50, notYetStored: 0)
        #expect(partial.findings == [.gap(from: 30, to: 39), .loss(from: 10, to: 29)])
        // Recorded and skipped (on_data_loss: record) before any newer object: the commit past it is no finding.
        let skipped = PartitionAudit(objects: [objects[0]], losses: [10...39], committed: 40, low: 40, high: 40)
        #expect(skipped.findings == [.loss(from: 10, to: 39)])
    }

    @Test func offsetsBelowTheFirstObjectThatKafkaDeletedAreNamedUncheckedNotClean() {
        // A group that first read the partition at log start 40: offsets 0...39 are nowhere to check.
        let late = PartitionAudit(objects: [Object(key: "a", firstOffset: 40, lastOffset: 49, coversFrom: 40, recordCount: 10)],
                                  committed: 50, low: 40, high: 50, notYetStored: 0)
        #expect(late.isComplete)
        #expect(late.uncheckedBelow == 40)
        // Retention deleted everything and nothing was ever stored: not "complete" without a word.
        let emptied = PartitionAudit(objects: [], committed: nil, low: 25, high: 25)
        #expect(emptied.isComplete && emptied.uncheckedBelow == 25)
        // Objects from 0 (retention deleted offsets the sink had stored) or a loss record from 0: all checked.
        let stored = PartitionAudit(objects: [Object(key: "a", firstOffset: 0, lastOffset: 49, recordCount: 50)],
                                    committed: 50, low: 40, high: 50, notYetStored: 0)
        #expect(stored.uncheckedBelow == 0)
        let recorded = PartitionAudit(objects: [Object(key: "b", firstOffset: 40, lastOffset: 49, coversFrom: 40, recordCount: 10)],
                                      losses: [0...39], committed: 50, low: 40, high: 50, notYetStored: 0)
        #expect(recorded.uncheckedBelow == 0 && recorded.findings == [.loss(from: 0, to: 39)])
        // Kafka still holds the offsets below the first object: a gap, not unchecked.
        let gap = PartitionAudit(objects: [Object(key: "a", firstOffset: 40, lastOffset: 49, coversFrom: 40, recordCount: 10)],
                                 committed: 50, low: 10, high: 50, notYetStored: 0)
        #expect(gap.findings == [.gap(from: 10, to: 39)] && gap.uncheckedBelow == 10)
    }

    @Test func metadataMustAgreeWithTheKeyTheSpanAndTheBody() {
        let wrongKey = Object(key: "k", keyOffset: 5, firstOffset: 0, lastOffset: 9, recordCount: 10)
        let tooMany = Object(key: "m", firstOffset: 10, lastOffset: 19, recordCount: 10, deadLetterCount: 1)
        let shortBody = Object(key: "s", firstOffset: 20, lastOffset: 29, recordCount: 10, lineCount: 9)
        let audit = PartitionAudit(objects: [wrongKey, tooMany, shortBody], committed: 30, low: 0, high: 30)
        #expect(audit.findings.count == 3)
        #expect(audit.findings.allSatisfy { if case .metadataMismatch = $0 { true } else { false } })
        #expect(audit.findings.map(\.description).joined().contains("the body has 9 lines, the metadata says 10 records"))
    }
}
