import Kafka
import Synchronization

/// The writable topics as the cluster last described them, refreshed every `maxAge`, and at most once a
/// second on a miss (an unknown topic costs no metadata request storm).
final class RestTopicCatalog: Sendable {
    let writable: [String]
    private let writableSet: Set<String>
    private let producer: any RestProducerPort
    private let maxAge: Duration
    private let state = Mutex<State>(State())

    private struct State {
        var topics: [String: KafkaTopicMetadata] = [:]
        var fetchedAt: ContinuousClock.Instant?
        var lastMissRefresh: ContinuousClock.Instant?
        var refreshing = false
    }

    init(writable: [String], producer: any RestProducerPort, maxAge: Duration = .seconds(30)) {
        self.writable = writable
        self.writableSet = Set(writable)
        self.producer = producer
        self.maxAge = maxAge
    }

    func isWritable(_ topic: String) -> Bool { writableSet.contains(topic) }

    /// The topic's metadata, nil when the cluster does not have it. Throws when Kafka does not answer.
    /// A known topic is answered from the cache (refreshed in the background once it is older than `maxAge`),
    /// so a busy endpoint never waits for, or piles up, metadata requests.
    func metadata(_ topic: String) async throws(KafkaError) -> KafkaTopicMetadata? {
        let now = ContinuousClock.now
        let (cached, refreshInBackground, mayRefreshOnMiss) = state.withLock { state in
            let stale = state.fetchedAt.map { now - $0 >= maxAge } ?? true
            let background = stale && !state.refreshing && state.fetchedAt != nil
            if background { state.refreshing = true }
            let mayRefresh = state.lastMissRefresh.map { now - $0 >= .seconds(1) } ?? true
            if state.topics[topic] == nil && mayRefresh { state.lastMissRefresh = now }
            return (state.topics[topic], background, mayRefresh)
        }
        if refreshInBackground {
            Task { [self] in
                defer { state.withLock { $0.refreshing = false } }
                _ = try? await refresh()
            }
        }
        if let cached { return cached }
        guard mayRefreshOnMiss else { return nil }
        return try await refresh()[topic]
    }

    /// The writable topics the cluster has, in configuration order.
    func existing() async throws(KafkaError) -> [KafkaTopicMetadata] {
        let fresh = state.withLock { state in state.fetchedAt.map { ContinuousClock.now - $0 < maxAge } ?? false }
        let topics = fresh ? state.withLock { $0.topics } : try await refresh()
        return writable.compactMap { topics[$0] }
    }

    @discardableResult
    func refresh() async throws(KafkaError) -> [String: KafkaTopicMetadata] {
        let all = try await producer.clusterTopics(timeout: .seconds(10))
        let topics = all.filter { writableSet.contains($0.key) }
        state.withLock { state in
            state.topics = topics
            state.fetchedAt = .now
        }
        return topics
    }
}
