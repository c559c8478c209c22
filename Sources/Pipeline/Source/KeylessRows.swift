import Logging

/// Rows whose key column is NULL, counted per read of a table. Such a row is produced with a null key (Kafka
/// spreads those over partitions), and a read that resumes after a key (a restart, a re-send, follow mode) never
/// sees it, since `key > $1` is never true for NULL. Operators hear of it once when the first one appears and
/// with the count when the read ends, not once per row: a table of a million such rows must not flood the log.
struct KeylessRows {
    let keyColumn: String
    private(set) var count = 0

    init(keyColumn: String) {
        self.keyColumn = keyColumn
    }

    mutating func note(logger: Logger, metadata: Logger.Metadata) {
        count += 1
        guard count == 1 else { return }
        logger.warning("Row without a key value (\(keyColumn) is NULL); produced with a null key. A read that resumes after a key skips such rows; more of them in this read are counted and reported when it ends",
                       metadata: metadata)
    }

    /// Ends a read: reports the count (and adds it to the table's metric), and starts counting afresh.
    mutating func finish(table: String, stats: PipelineStats, logger: Logger, metadata: Logger.Metadata) {
        guard count > 0 else { return }
        stats.recordRowsWithoutKey(count, table: table)
        if count > 1 {
            logger.warning("\(count) rows without a key value were produced with a null key in this read",
                           metadata: metadata.merging([LogKey.records: "\(count)"]) { $1 })
        }
        count = 0
    }
}
