import Foundation
import Kafka
import Testing

@testable import Pipeline

@Suite struct TransactionStateTests {
    let start = ContinuousClock.now

    func position(_ key: Int64) -> SourcePosition { SourcePosition(mode: "snapshot", key: key) }

    @Test func commitsAtMaxRecordsOnceTheGateIsQuiet() {
        var state = TransactionState(maxRecords: 3, maxInterval: .seconds(10), committed: [:])
        #expect(state.admit(rows: 1, generation: 0, now: start) == .admitted)
        #expect(state.release(positions: ["pin": position(1)]) == false)
        #expect(state.admit(rows: 1, generation: 0, now: start) == .admitted)
        #expect(!state.isDue(now: start))
        // The third row fills the transaction: it is admitted, the ones after it wait.
        #expect(state.admit(rows: 1, generation: 0, now: start) == .admitted)
        #expect(state.phase == .closing)
        #expect(state.isDue(now: start))
        #expect(state.admit(rows: 1, generation: 0, now: start) == .wait)
        #expect(state.release(positions: ["geo": position(7)]) == false)
        #expect(state.close() == false)
        // The last row in flight leaves: quiet, and the commit writes exactly the released positions.
        let quiet = state.release(positions: ["pin": position(2)])
        #expect(quiet)
        #expect(state.positionsToCommit() == ["pin": SourcePosition(mode: "snapshot", key: 2, commit: 1),
                                              "geo": SourcePosition(mode: "snapshot", key: 7, commit: 1)])
        state.committedTransaction()
        #expect(state.committed["pin"]?.key == 2 && state.committed["geo"]?.commit == 1)
        #expect(state.phase == .open && state.records == 0 && state.ended == 1)
        #expect(state.admit(rows: 1, generation: 0, now: start) == .admitted)
        _ = state.release(positions: ["pin": position(3)])
        #expect(state.positionsToCommit()["pin"]?.commit == 2)
    }

    @Test func dueByAgeOnlyWithRows() {
        var state = TransactionState(maxRecords: 100, maxInterval: .milliseconds(500), committed: [:])
        #expect(!state.isDue(now: start + .seconds(5)))
        #expect(state.admit(rows: 1, generation: 0, now: start) == .admitted)
        _ = state.release(positions: ["pin": position(1)])
        #expect(!state.isDue(now: start + .milliseconds(499)))
        #expect(state.isDue(now: start + .milliseconds(500)))
        #expect(state.dueAt == start + .milliseconds(500))
    }

    @Test func anAbortRewindsEveryReaderOfTheOldGeneration() {
        var state = TransactionState(maxRecords: 100, maxInterval: .seconds(1),
                                     committed: ["pin": SourcePosition(mode: "snapshot", key: 40, commit: 4)])
        #expect(state.nextCommit == 5)
        #expect(state.admit(rows: 1, generation: 0, now: start) == .admitted)
        // A row that could not be produced poisons the transaction: it is due, and it must abort.
        _ = state.release(positions: nil)
        #expect(state.poisoned && state.isDue(now: start))
        _ = state.close()
        state.abortedTransaction()
        #expect(state.generation == 1 && !state.poisoned && state.pending.isEmpty)
        #expect(state.committed["pin"]?.key == 40)
        #expect(state.admit(rows: 1, generation: 0, now: start) == .rewind)
        #expect(state.admit(rows: 1, generation: 1, now: start) == .admitted)
    }

    @Test func finishedRefusesRows() {
        var state = TransactionState(maxRecords: 1, maxInterval: .seconds(1), committed: [:])
        state.finish()
        #expect(state.admit(rows: 1, generation: 0, now: start) == .finished)
        #expect(!state.isDue(now: start))
    }

    @Test func positionsRoundTripAsJSONAndTheHighestCommitWins() {
        let emulate = SourcePosition(mode: "emulate", key: 5730, events: 42, seed: 100, commit: 9)
        #expect(String(decoding: emulate.encoded(), as: UTF8.self)
            == #"{"commit":9,"events":42,"key":5730,"mode":"emulate","seed":100}"#)
        #expect(SourcePosition.decode(emulate.encoded()) == emulate)
        #expect(SourcePosition.decode(Array("not json".utf8)) == nil)
        func record(_ table: String, _ key: Int64, commit: Int64, partition: Int32, offset: Int64) -> KafkaMessage {
            KafkaMessage(topic: "p.pinpipe-offsets", partition: partition, offset: offset, key: Array(table.utf8),
                         value: SourcePosition(mode: "snapshot", key: key, commit: commit).encoded(), timestamp: nil,
                         headers: [])
        }
        // A repartitioned topic may hold an older value after a newer one: the commit number decides.
        let latest = OffsetsTopic.latest([
            record("pin", 10, commit: 1, partition: 0, offset: 0), record("pin", 30, commit: 3, partition: 0, offset: 1),
            record("pin", 20, commit: 2, partition: 1, offset: 0), record("geo", 5, commit: 1, partition: 1, offset: 1),
            KafkaMessage(topic: "p.pinpipe-offsets", partition: 1, offset: 2, key: Array("user".utf8),
                         value: Array("garbage".utf8), timestamp: nil, headers: []),
        ])
        #expect(latest["pin"]?.key == 30 && latest["geo"]?.key == 5 && latest["user"] == nil)
        #expect(OffsetsTopic.isCompatible(SourcePosition(mode: "snapshot", key: 1), with: .follow))
        #expect(!OffsetsTopic.isCompatible(emulate, with: .snapshot))
    }
}
