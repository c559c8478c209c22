import Synchronization

/// Counters of one `PostgresRowStream`: what it fetched and how many of its batches were alive at once.
public struct PostgresStreamStatistics: Sendable, Equatable {
    public var batchesFetched: Int = 0
    public var rowsFetched: Int = 0
    /// Batches of this stream still in memory (not yet deinitialised) right now.
    public var liveBatches: Int = 0
    /// The most batches of this stream that were in memory at the same time.
    public var peakLiveBatches: Int = 0

    public init() {}
}

/// Counts the batches of one stream as they are created and freed.
final class PostgresBatchTracker: Sendable {
    private let state = Mutex(PostgresStreamStatistics())

    func created(rows: Int) {
        state.withLock {
            $0.batchesFetched += 1
            $0.rowsFetched += rows
            $0.liveBatches += 1
            $0.peakLiveBatches = max($0.peakLiveBatches, $0.liveBatches)
        }
    }

    func released() {
        state.withLock { $0.liveBatches -= 1 }
    }

    var snapshot: PostgresStreamStatistics { state.withLock { $0 } }
}
