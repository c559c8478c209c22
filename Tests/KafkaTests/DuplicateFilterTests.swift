import Testing

@testable import Kafka

@Suite struct DuplicateFilterTests {
    // Stand-ins for two topic handles: only compared, never dereferenced.
    let pin = OpaquePointer(bitPattern: 0x1000)!
    let geo = OpaquePointer(bitPattern: 0x2000)!
    let pin0 = KafkaTopicPartition(topic: "t.pin", partition: 0)
    let pin1 = KafkaTopicPartition(topic: "t.pin", partition: 1)
    let geo0 = KafkaTopicPartition(topic: "t.geo", partition: 0)

    @Test func dropsWhatWasReturnedAndLooksUpTheTopicOncePerRun() {
        var filter = DuplicateFilter([pin0: 10, pin1: 5, geo0: 0])
        var lookups = 0
        func repeated(_ handle: OpaquePointer, _ partition: Int32, _ offset: Int64) -> Bool {
            filter.isRepeat(handle: handle, partition: partition, offset: offset) {
                lookups += 1
                return handle == pin ? "t.pin" : "t.geo"
            }
        }
        #expect((8...12).map { repeated(pin, 0, $0) } == [true, true, false, false, false])
        #expect(lookups == 1)
        // Another partition of the same topic, another topic, then back: a lookup per run.
        #expect(repeated(pin, 1, 4) && !repeated(pin, 1, 5))
        #expect(!repeated(geo, 0, 0) && repeated(geo, 0, 0))
        #expect(repeated(pin, 0, 12) && !repeated(pin, 0, 13))  // the first run's mark was written back
        #expect(lookups == 4)
        #expect(filter.current() == [pin0: 14, pin1: 6, geo0: 1])
    }

    @Test func aPartitionWithoutAMarkIsNotFiltered() {
        var filter = DuplicateFilter([pin0: 10])
        #expect(!filter.isRepeat(handle: pin, partition: 1, offset: 0) { "t.pin" })
        #expect(!filter.isRepeat(handle: pin, partition: 1, offset: 0) { "t.pin" })
        #expect(filter.current() == [pin0: 10])
    }

    @Test func changesMadeDuringARunSeeItsMarkAndSupersedeIt() {
        var filter = DuplicateFilter([pin0: 0, pin1: 0])
        for offset in Int64(0)..<5 { _ = filter.isRepeat(handle: pin, partition: 0, offset: offset) { "t.pin" } }
        // A restart replaces every mark: the run's records count as returned before the new start.
        #expect(filter.current() == [pin0: 5, pin1: 0])
        filter.replace(with: [pin0: 3, pin1: 0])
        #expect(filter.isRepeat(handle: pin, partition: 0, offset: 2) { "t.pin" })
        #expect(!filter.isRepeat(handle: pin, partition: 0, offset: 3) { "t.pin" })
        // A revocation drops its partitions' marks, the one of the current run too.
        filter.remove([pin0])
        #expect(!filter.isRepeat(handle: pin, partition: 0, offset: 0) { "t.pin" })
        #expect(filter.current() == [pin1: 0])
        filter.remove(nil)
        #expect(filter.isEmpty)
    }
}
