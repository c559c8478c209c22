import Foundation
@testable import Pipeline
import Postgres
import Testing

/// The exactly-once capture position: which snapshot read which key, and what of the stream Kafka holds.
struct ChangeCapturePositionTests {
    let t1 = PostgresLSN(0x1000)
    let t2 = PostgresLSN(0x2000)

    /// pin read through key 50 in the snapshot at t1 before a crash, the rest (and geo) in the snapshot at t2.
    func resumed() -> ChangeCapturePosition {
        var position = ChangeCapturePosition(slot: "s")
        position.openSegment(table: "pin", after: nil, point: t1)
        position.extendSegment(through: 50)
        #expect(position.coverage(of: "pin") == .through(50))
        #expect(position.coverage(of: "geo") == ChangeCapturePosition.Coverage.none)
        position.openSegment(table: "pin", after: 50, point: t2)
        position.closeSegment()
        position.openSegment(table: "geo", after: nil, point: t2)
        position.closeSegment()
        position.snapshotDone = true
        return position
    }

    @Test func changesBetweenTwoSnapshotsGoOnlyToRowsTheFirstRead() {
        let position = resumed()
        #expect(position.coverage(of: "pin") == .all)
        let between = PostgresLSN(0x1800)
        // Key 10 was read at t1: a change committed after t1 is newer than its row.
        #expect(position.isNewer(table: "pin", key: 10, commitLSN: between))
        #expect(position.isNewer(table: "pin", key: 50, commitLSN: between))
        // Key 51 was read at t2, which already holds that change.
        #expect(!position.isNewer(table: "pin", key: 51, commitLSN: between))
        #expect(!position.isNewer(table: "geo", key: 10, commitLSN: between))
        // Before t1: in every snapshot. At or after t2: news for every key.
        #expect(!position.isNewer(table: "pin", key: 10, commitLSN: PostgresLSN(0xfff)))
        #expect(position.isNewer(table: "pin", key: 51, commitLSN: t2))
        #expect(position.isNewer(table: "geo", key: 99, commitLSN: PostgresLSN(0x2001)))
        // A truncate (no key) goes by the oldest snapshot of its table; a table no snapshot read gets everything.
        #expect(position.isNewer(table: "pin", key: nil, commitLSN: between))
        #expect(position.isNewer(table: "user", key: 1, commitLSN: PostgresLSN(1)))
    }

    @Test func aSegmentOpenedBeforeItsFirstRowCoversNothing() {
        var position = ChangeCapturePosition(slot: "s")
        position.openSegment(table: "pin", after: nil, point: t1)
        // A crash before the table's first row was committed: the table counts as not read at all.
        #expect(position.coverage(of: "pin") == ChangeCapturePosition.Coverage.none)
        #expect(position.isNewer(table: "pin", key: 1, commitLSN: PostgresLSN(0x10)) == false)
        position.extendSegment(through: 3)
        #expect(position.coverage(of: "pin") == .through(3))
        // A second crash before any row of the next segment: still through 3.
        position.openSegment(table: "pin", after: 3, point: t2)
        #expect(position.coverage(of: "pin") == .through(3))
        #expect(position.snapshotPoint(table: "pin", key: 3) == t1)
    }

    @Test func skipsExactlyWhatKafkaHolds() {
        var position = resumed()
        let l = PostgresLSN(0x3000)
        #expect(!position.alreadySent(commitLSN: l, index: 0))
        position.sent(commitLSN: l, index: 49_999)
        // A transaction split over Kafka transactions: its first 50,000 records are in, the rest is not.
        #expect(position.alreadySent(commitLSN: l, index: 0))
        #expect(position.alreadySent(commitLSN: l, index: 49_999))
        #expect(!position.alreadySent(commitLSN: l, index: 50_000))
        #expect(position.alreadySent(commitLSN: PostgresLSN(0x2fff), index: 7))
        #expect(!position.alreadySent(commitLSN: PostgresLSN(0x3001), index: 0))
    }

    @Test func roundTripsThroughTheOffsetsTopicRecord() throws {
        var position = resumed()
        position.commit = 7
        position.sent(commitLSN: PostgresLSN(0x3000), index: 4)
        position.confirmable = PostgresLSN(0x2f00).description
        let bytes = position.encoded()
        #expect(ChangeCapturePosition.decode(bytes) == position)
        #expect(String(decoding: bytes, as: UTF8.self).hasPrefix(#"{"commit":7,"#))
        // A table position of snapshot mode is not a capture position.
        #expect(ChangeCapturePosition.decode(Array(#"{"commit":1,"key":5,"mode":"snapshot"}"#.utf8)) == nil)
        #expect(ChangeCapturePosition.key(slot: "pinpipe_x") == "cdc:pinpipe_x")
    }
}
