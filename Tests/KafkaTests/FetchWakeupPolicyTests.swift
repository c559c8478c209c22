import Testing

@testable import Kafka

@Suite struct FetchWakeupPolicyTests {
    let a0 = KafkaTopicPartition(topic: "a", partition: 0)
    let a1 = KafkaTopicPartition(topic: "a", partition: 1)
    let b0 = KafkaTopicPartition(topic: "b", partition: 0)

    @Test func aFullQueueWakesNobodyAndDoesNotReadTheLag() {
        var asked = false
        let wake = FetchWakeupPolicy(lowWatermark: 100).partitionsToWake(queued: 100) {
            asked = true
            return [self.a0: 5]
        }
        #expect(wake.isEmpty)
        #expect(!asked)
    }

    @Test func aLowQueueWakesOnlyTheLaggingPartitionsSorted() {
        let wake = FetchWakeupPolicy(lowWatermark: 100).partitionsToWake(queued: 99) {
            [self.b0: 3, self.a1: 0, self.a0: 7]
        }
        #expect(wake == [a0, b0])
    }

    @Test func caughtUpPartitionsAreNotWokenEvenWhenTheQueueIsEmpty() {
        let wake = FetchWakeupPolicy(lowWatermark: 100).partitionsToWake(queued: 0) { [self.a0: 0, self.b0: 0] }
        #expect(wake.isEmpty)
    }
}
