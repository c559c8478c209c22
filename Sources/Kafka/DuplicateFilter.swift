/// The duplicate filter that `restartFetching` sets up (see `ConsumerCallbackState.nextExpected`): per partition,
/// the next offset a poll may return; a record below it was returned already and is dropped.
///
/// Records come in runs of one partition, so the mark of the current run is kept apart, recognised by the topic
/// handle and partition number, and written back when the run ends: one lookup of the topic's name per run
/// instead of a hash of it per record. Whoever reads or changes the marks goes through this type, which writes
/// the run back first, so the marks are always as if every record had updated them.
struct DuplicateFilter: Sendable {
    private var marks: [KafkaTopicPartition: Int64] = [:]
    private var run: Run?

    private struct Run: @unchecked Sendable {  // the handle is only compared, never dereferenced
        var handle: OpaquePointer
        var partition: Int32
        var key: KafkaTopicPartition
        /// Nil: the partition has no mark (nothing of it is dropped).
        var next: Int64?
    }

    init(_ marks: [KafkaTopicPartition: Int64] = [:]) {
        self.marks = marks
    }

    /// No marks: the filter is off.
    var isEmpty: Bool { marks.isEmpty }

    /// True for a record returned already (drop it); otherwise its partition's mark moves past it. `topic` names
    /// the topic of `handle`; it is asked only when a new run starts.
    mutating func isRepeat(handle: OpaquePointer, partition: Int32, offset: Int64, topic: () -> String) -> Bool {
        if run?.handle != handle || run?.partition != partition {
            endRun()
            let key = KafkaTopicPartition(topic: topic(), partition: partition)
            run = Run(handle: handle, partition: partition, key: key, next: marks[key])
        }
        guard let next = run?.next else { return false }
        if offset < next { return true }
        run?.next = offset + 1
        return false
    }

    /// Writes the current run's mark back (at the end of a poll: a topic handle is not kept across polls).
    mutating func endRun() {
        if let run, let next = run.next { marks[run.key] = next }
        run = nil
    }

    /// The marks, up to date.
    mutating func current() -> [KafkaTopicPartition: Int64] {
        endRun()
        return marks
    }

    /// Replaces every mark.
    mutating func replace(with marks: [KafkaTopicPartition: Int64]) {
        run = nil
        self.marks = marks
    }

    /// Drops the marks of `partitions` (nil: all).
    mutating func remove(_ partitions: Set<KafkaTopicPartition>?) {
        endRun()
        guard let partitions else {
            marks.removeAll()
            return
        }
        for partition in partitions { marks[partition] = nil }
    }
}
