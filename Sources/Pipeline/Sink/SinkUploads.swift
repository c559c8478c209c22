/// Where the partition writers start their upload chains: child tasks of the sink's own task group, so no upload
/// outlives the sink (structured concurrency, no unstructured `Task {}`), and cancelling the sink cancels them.
///
/// The sink's `run` calls ``run()`` as a child task; ``start(_:)`` hands it a chain, ``finish()`` (after the last
/// drain) lets it end once every chain is over.
final class SinkUploads: Sendable {
    typealias Chain = @Sendable () async -> Void
    private let chains: AsyncStream<Chain>
    private let continuation: AsyncStream<Chain>.Continuation

    init() {
        (chains, continuation) = AsyncStream<Chain>.makeStream()
    }

    /// Starts `chain` as a child task of ``run()``; false once ``finish()`` was called (the chain never runs).
    @discardableResult
    func start(_ chain: @escaping Chain) -> Bool {
        if case .enqueued = continuation.yield(chain) { return true }
        return false
    }

    /// Runs every chain started, each in its own child task, until ``finish()`` and the last chain's end.
    func run() async {
        await withDiscardingTaskGroup { group in
            for await chain in chains {
                group.addTask { await chain() }
            }
        }
    }

    func finish() { continuation.finish() }
}
