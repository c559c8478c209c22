import Kafka
import Testing

@testable import Pipeline

@Suite struct EndOfLogCheckTests {
    let p0 = KafkaTopicPartition(topic: "t", partition: 0)
    let p1 = KafkaTopicPartition(topic: "t", partition: 1)

    @Test func everyPartitionReportedItsEndAfterItsLastRecord() {
        // p0's end lies past its last record (a transaction marker); p1 ended exactly after its last record.
        let check = EndOfLogCheck(assignment: [p0, p1], handedOver: [p0: 10, p1: 7], reachedEnds: [p0: 11, p1: 7])
        #expect(check.everyPartitionAtItsEnd)
    }

    @Test func aPartitionWithoutAnEndReportIsNotDone() {
        let check = EndOfLogCheck(assignment: [p0, p1], handedOver: [p0: 10, p1: 7], reachedEnds: [p0: 10])
        #expect(!check.everyPartitionAtItsEnd)
    }

    @Test func recordsAfterTheEndReportMeanTheLogGrewSinceThen() {
        let check = EndOfLogCheck(assignment: [p0, p1], handedOver: [p0: 10, p1: 9], reachedEnds: [p0: 10, p1: 7])
        #expect(!check.everyPartitionAtItsEnd)
    }

    @Test func aPartitionWithNoRecordsThisRunNeedsOnlyItsEndReport() {
        let check = EndOfLogCheck(assignment: [p0, p1], handedOver: [p0: 10], reachedEnds: [p0: 10, p1: 0])
        #expect(check.everyPartitionAtItsEnd)
    }

    @Test func noAssignmentIsNeverDone() {
        #expect(!EndOfLogCheck(assignment: [], handedOver: [:], reachedEnds: [p0: 3]).everyPartitionAtItsEnd)
    }
}
