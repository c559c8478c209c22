import Dispatch
import Kafka
import Logging
import Synchronization
import Testing

/// Two members of one group: the second joins, the partitions split, the first hears about the revocation
/// (and commits from another thread while its poll thread waits in the handler), and every record is read once.
@Suite struct KafkaRebalanceTests {
    let logger = KafkaTestSupport.quietLogger

    /// What one member has read and not yet committed, so its revocation handler can commit it.
    final class Member: Sendable {
        let name: String
        let events = Shared<[KafkaRebalanceEvent]>([])
        let received = Shared<[KafkaMessage]>([])
        let uncommitted = Shared<[KafkaTopicPartition: Int64]>([:])
        let consumer = Shared<KafkaConsumer?>(nil)
        let commitFailures = Shared<[String]>([])

        init(name: String) { self.name = name }

        func take(_ messages: [KafkaMessage]) {
            received.withLock { $0 += messages }
            uncommitted.withLock { offsets in
                for (partition, next) in KafkaTestSupport.nextOffsets(messages) { offsets[partition] = next }
            }
        }

        func commitPending(only partitions: [KafkaTopicPartition]? = nil) async {
            guard let consumer = consumer.withLock({ $0 }) else { return }
            let offsets = uncommitted.withLock { pending -> [KafkaTopicPartition: Int64] in
                let chosen = pending.filter { partitions?.contains($0.key) ?? true }
                for key in chosen.keys { pending[key] = nil }
                return chosen
            }
            do {
                try await consumer.commit(offsets)
                committed.withLock { $0.merge(offsets) { max($0, $1) } }
            } catch {
                commitFailures.withLock { $0.append("\(error)") }
                uncommitted.withLock { $0.merge(offsets) { max($0, $1) } }  // retried by the next commit
            }
        }

        /// Offsets committed so far, re-committed at revocation.
        let committed = Shared<[KafkaTopicPartition: Int64]>([:])
        /// Outcomes of the commits made from inside revocation handlers ("ok", an error, or "hung").
        let revocationCommits = Shared<[String]>([])

        /// The rebalance handler: on revocation, the poll thread blocks here while another thread commits.
        func handle(_ event: KafkaRebalanceEvent) {
            events.withLock { $0.append(event) }
            guard case .revoked(let partitions) = event, let consumer = consumer.value else { return }
            let offsets = committed.value.filter { partitions.contains($0.key) }
            let outcome = Shared<String>("hung")
            let done = DispatchSemaphore(value: 0)
            Task {
                do throws(KafkaError) {
                    try await consumer.commit(offsets)
                    outcome.withLock { $0 = "ok" }
                } catch {
                    // librdkafka's mock refuses commits while the group is joining (real Kafka accepts them).
                    outcome.withLock { $0 = error.code.name }
                }
                done.signal()
            }
            _ = done.wait(timeout: .now() + 10)
            revocationCommits.withLock { $0.append(outcome.value) }
        }
    }

    @Test func secondMemberSplitsThePartitionsAndNothingIsReadTwice() async throws {
        let cluster = try KafkaMockCluster(brokers: 3, logger: logger)
        defer { cluster.shutdown() }
        let topic = KafkaTestSupport.uniqueName("rebalance")
        try cluster.createTopic(topic, partitions: 4, replicationFactor: 3)
        let group = KafkaTestSupport.uniqueName("group")
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers), logger: logger)
        _ = try await KafkaTestSupport.produceAll(producer, topic: topic, 0..<400)

        let a = Member(name: "a")
        var configuration = KafkaConsumerConfiguration(
            bootstrapServers: cluster.bootstrapServers, groupID: group, topics: [topic],
            properties: KafkaTestSupport.fastGroupProperties)
        configuration.maxPollRecords = 20
        let consumerA = try KafkaConsumer(configuration: configuration, logger: logger) { a.handle($0) }
        a.consumer.withLock { $0 = consumerA }
        a.take(try await KafkaTestSupport.waitForAssignment(consumerA))
        #expect(consumerA.assignment().count == 4)
        // A reads part of the log and commits it, then pauses (so that it reads nothing the mock would refuse to
        // let it commit during the rebalance), then B joins.
        while a.received.withLock({ $0.count }) < 100 { a.take(try await consumerA.poll(timeout: .milliseconds(200))) }
        await a.commitPending()
        try consumerA.pause(consumerA.assignment())

        let b = Member(name: "b")
        let consumerB = try KafkaConsumer(configuration: configuration, logger: logger) { b.handle($0) }
        b.consumer.withLock { $0 = consumerB }

        // Both poll until the group settled into two halves and everything (plus a second batch) was read.
        let stop = Shared<Bool>(false)
        let secondBatchProduced = Shared<Bool>(false)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for (member, consumer) in [(a, consumerA), (b, consumerB)] {
                tasks.addTask {
                    while !stop.value {
                        member.take(try await consumer.poll(timeout: .milliseconds(100)))
                        await member.commitPending()
                    }
                }
            }
            tasks.addTask {
                let deadline = ContinuousClock.now + .seconds(60)
                while ContinuousClock.now < deadline {
                    let split = consumerA.assignment().count == 2 && consumerB.assignment().count == 2
                    if split && !secondBatchProduced.value {
                        _ = try await KafkaTestSupport.produceAll(producer, topic: topic, 400..<600)
                        secondBatchProduced.withLock { $0 = true }
                    }
                    let total = a.received.withLock { $0.count } + b.received.withLock { $0.count }
                    if secondBatchProduced.value && total >= 600 { break }
                    try await Task.sleep(for: .milliseconds(100))
                }
                // Give a duplicate the chance to show up before stopping.
                try await Task.sleep(for: .seconds(1))
                stop.withLock { $0 = true }
            }
            try await tasks.waitForAll()
        }
        await producer.shutdown(timeout: .seconds(5))

        let assignedA = Set(consumerA.assignment())
        let assignedB = Set(consumerB.assignment())
        #expect(assignedA.count == 2 && assignedB.count == 2)
        #expect(assignedA.isDisjoint(with: assignedB))
        let revokedA = a.events.withLock { $0 }.contains { if case .revoked(let p) = $0 { p.count == 4 } else { false } }
        #expect(revokedA, "A's four partitions were revoked before the split")
        // The commit made from another thread while A's poll thread waited in the handler did complete.
        print("KafkaRebalanceTests: commits from A's revocation handler: \(a.revocationCommits.value)")
        #expect(!a.revocationCommits.value.isEmpty)
        #expect(!a.revocationCommits.value.contains("hung"), "\(a.revocationCommits.value)")
        let assignedEventsB = b.events.withLock { $0 }.compactMap { if case .assigned(let p) = $0 { p } else { nil } }
        #expect(assignedEventsB.last.map(Set.init) == assignedB)

        let all = a.received.withLock { $0 } + b.received.withLock { $0 }
        let indices = all.compactMap { KafkaTestSupport.index(of: $0.value) }
        #expect(Set(indices) == Set(0..<600), "every record was read")
        #expect(a.commitFailures.value.isEmpty && b.commitFailures.value.isEmpty, "\(a.commitFailures.value.prefix(3)) \(b.commitFailures.value.prefix(3))")
        // Commits happened before each revocation took effect, so no record was read twice.
        #expect(indices.count == 600, "duplicates: \(indices.count - Set(indices).count)")
        // B's records are all from B's partitions.
        #expect(b.received.withLock { $0 }.allSatisfy { assignedB.contains($0.topicPartition) })

        await consumerA.close()
        await consumerB.close()
    }
}
