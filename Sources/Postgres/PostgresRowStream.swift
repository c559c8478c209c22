/// The batches of one query, fetched through a server-side cursor (see `PostgresConnection.stream`).
///
/// Iterate it once; every iterator opens its own cursor. Errors are `PostgresError`; a cancelled task gets
/// `.cancelled`.
public struct PostgresRowStream: AsyncSequence, Sendable {
    public typealias Element = PostgresRowBatch
    public typealias Failure = PostgresError

    let connection: PostgresConnection
    let sql: String
    let params: [String?]
    public let fetchSize: Int
    let tracker = PostgresBatchTracker()

    /// Batches fetched so far and how many were in memory at once (for tests and diagnostics).
    public var statistics: PostgresStreamStatistics { tracker.snapshot }

    public func makeAsyncIterator() -> Iterator {
        Iterator(cursor: PostgresStreamCursor(
            connection: connection, sql: sql, params: params, fetchSize: fetchSize, tracker: tracker))
    }

    public struct Iterator: AsyncIteratorProtocol {
        public typealias Element = PostgresRowBatch
        public typealias Failure = PostgresError

        let cursor: PostgresStreamCursor

        /// The next non-empty batch, or nil when the result is exhausted.
        public mutating func next() async throws(PostgresError) -> PostgresRowBatch? {
            try await cursor.next()
        }

        public mutating func next(isolation actor: isolated (any Actor)?) async throws(PostgresError)
            -> PostgresRowBatch?
        {
            try await cursor.next()
        }
    }
}
