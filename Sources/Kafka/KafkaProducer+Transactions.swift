import CRdKafka

/// librdkafka's transactional producer (`transactional.id` set in the configuration).
///
/// - Important: A transaction's records become visible to `read_committed` consumers only when it commits;
///   an aborted one's never. Errors are classified through `KafkaError`: `requiresAbort` (abort, then produce
///   the transaction's records again), `isFatal` (e.g. fenced by a newer instance with the same id: the
///   client is unusable), `isRetriable` (call the same operation again). The blocking calls run on the
///   producer's worker thread, never on the cooperative pool.
extension KafkaProducer {
    /// True when the producer was created with a `transactional.id`.
    public var isTransactional: Bool { configuration.transactionalID != nil }

    /// Registers the `transactional.id` with its coordinator: fences any older instance with the same id and
    /// lets the coordinator abort that instance's open transaction. Call once, before the first transaction.
    public func initTransactions(timeout: Duration) async throws(KafkaError) {
        try await transactionCall("init_transactions") { rk in
            rd_kafka_init_transactions(rk, timeout.librdkafkaMilliseconds)
        }
    }

    /// Starts a transaction; every record produced from now until commit or abort belongs to it.
    public func beginTransaction() throws(KafkaError) {
        try checkOpen("begin_transaction")
        if let error = rd_kafka_begin_transaction(handle.pointer) {
            throw KafkaError(consuming: error, context: "begin_transaction")
        }
    }

    /// Flushes the transaction's records and commits it. A retriable error (a timeout) may be retried by
    /// calling `commitTransaction` again; `requiresAbort` means abort and produce the records again.
    public func commitTransaction(timeout: Duration) async throws(KafkaError) {
        try await transactionCall("commit_transaction") { rk in
            rd_kafka_commit_transaction(rk, timeout.librdkafkaMilliseconds)
        }
    }

    /// Purges what is not yet delivered (those records' `onDelivery` get a `_PURGE_*` error) and aborts the
    /// transaction: none of its records will ever be visible to a `read_committed` consumer.
    public func abortTransaction(timeout: Duration) async throws(KafkaError) {
        try await transactionCall("abort_transaction") { rk in
            rd_kafka_abort_transaction(rk, timeout.librdkafkaMilliseconds)
        }
    }

    private func checkOpen(_ what: String) throws(KafkaError) {
        guard !state.closed.load(ordering: .sequentiallyConsistent) else { throw .shutDown(what) }
        guard isTransactional else {
            throw KafkaError(code: .invalidConfiguration,
                             message: "\(what): the producer has no transactional.id", isRetriable: false)
        }
    }

    /// Runs one blocking transactional API call on the worker thread and converts its `rd_kafka_error_t`.
    private func transactionCall(
        _ what: String, _ call: @escaping @Sendable (OpaquePointer) -> OpaquePointer?
    ) async throws(KafkaError) {
        try checkOpen(what)
        let rk = handle
        let transactionalID = configuration.transactionalID ?? ""
        let result = await admin.run { () -> KafkaError? in
            guard let error = call(rk.pointer) else { return nil }
            var converted = KafkaError(consuming: error, context: what)
            if converted.isFenced || converted.isFatal, let fatal = KafkaError.fatal(of: rk.pointer) {
                converted.message += " (client fatal error \(fatal.code.name): \(fatal.message))"
            }
            if converted.isFenced {
                converted.isFatal = true
                converted.isRetriable = false
                converted.requiresAbort = false
                converted.message += "; another producer with transactional.id \"\(transactionalID)\" took over "
                    + "(a second pinpipe for the same topics?): stop it, or give each pipeline its own "
                    + "kafka.transactional_id"
            }
            return converted
        }
        guard let result else { throw .shutDown(what) }
        if let error = result { throw error }
    }
}
