import CRdKafka

extension KafkaConsumer {
    /// Wakes the fetchers of these partitions' leaders, without waiting for it.
    ///
    /// librdkafka 2.0.2 stops fetching while its consumer queue is above `queued.min.messages` or
    /// `queued.max.messages.kbytes`, and looks at the queue again only when the broker's thread wakes up for
    /// some other reason, up to a second later (librdkafka issue #2879; 2.3 added `fetch.queue.backoff.ms`).
    /// An application slower than the broker, like the S3 sink, meets that threshold all the time and then
    /// drains the queue and waits. One ListOffsets request to each leader (`rd_kafka_offsets_for_times` for
    /// the latest offsets) wakes those threads, and they fetch again at once.
    ///
    /// `pollRecords` calls it itself, for the lagging partitions, when a poll left the queue low
    /// (`FetchWakeupPolicy`). At most one wake-up runs at a time (on its own thread); calls meanwhile are dropped.
    public func wakeFetchers(_ partitions: [KafkaTopicPartition]) {
        guard !closed.load(ordering: .sequentiallyConsistent) else { return }
        let assigned = Set(state.sortedAssignment)
        let partitions = partitions.filter { assigned.contains($0) }
        guard !partitions.isEmpty,
              !wakeupRunning.testAndSet() else { return }
        let running = wakeupRunning
        wakeupWorker.submit {
            _ = RDKafkaQueries.latestOffsets(self.handle, partitions, timeout: .seconds(1))
            running.clear()
        }
        wakeups.add(1, ordering: .relaxed)
    }

    /// How many wake-ups were sent (for the sink's final figures).
    public var fetcherWakeups: Int { wakeups.load(ordering: .relaxed) }
}
