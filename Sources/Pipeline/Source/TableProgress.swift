import CoreMetrics
import Kafka
import Synchronization

/// One table's dispatch/acknowledgement bookkeeping, shared between the reading task and the producer's
/// delivery callbacks (which run on the Kafka poll thread).
final class TableProgress: Sendable {
    private let state: Mutex<State>

    private struct State {
        var watermark: AcknowledgementWatermark
        var lastDispatched: Int64?
        var failure: KafkaError?
    }

    init(checkpoint: Int64?) {
        state = Mutex(State(watermark: AcknowledgementWatermark(checkpoint: checkpoint), lastDispatched: checkpoint))
    }

    func dispatch(key: Int64) -> Int {
        state.withLock { state in
            state.lastDispatched = key
            return state.watermark.dispatch(key: key)
        }
    }

    /// Records a delivery report; returns true when it moved the checkpoint.
    func delivered(_ sequence: Int, _ result: Result<KafkaDeliveryReport, KafkaError>) -> Bool {
        switch result {
        case .success: return delivered(sequence, error: nil)
        case .failure(let error): return delivered(sequence, error: error)
        }
    }

    /// Records a delivery report (`error` nil: acknowledged); returns true when it moved the checkpoint.
    func delivered(_ sequence: Int, error: KafkaError?) -> Bool {
        state.withLock { state in
            guard let error else { return state.watermark.acknowledge(sequence) }
            if state.failure == nil { state.failure = error }
            return false
        }
    }

    /// Exactly-once: the rows after `key` were aborted; dispatch again from there (nil: from the start).
    func rewind(to key: Int64?) {
        state.withLock { state in
            state.watermark = AcknowledgementWatermark(checkpoint: key, firstSequence: state.watermark.nextSequence)
            state.lastDispatched = key
            state.failure = nil
        }
    }

    /// Exactly-once: a row went into the open transaction.
    func produced(key: Int64) {
        state.withLock { $0.lastDispatched = key }
    }

    /// The acknowledged, contiguous checkpoint.
    var checkpoint: Int64? { state.withLock { $0.watermark.checkpoint } }
    var lastDispatched: Int64? { state.withLock { $0.lastDispatched } }
    var pending: Int { state.withLock { $0.watermark.pending } }

    /// Takes a delivery failure, if one happened, and rewinds dispatching to the checkpoint.
    func takeFailure() -> KafkaError? {
        state.withLock { state in
            guard let failure = state.failure else { return nil }
            Self.restart(&state)
            return failure
        }
    }

    /// Forgets any failure and dispatches again from the acknowledged checkpoint (call with nothing in flight).
    func restartFromCheckpoint() {
        state.withLock { Self.restart(&$0) }
    }

    private static func restart(_ state: inout State) {
        state.failure = nil
        // New sequence numbers: a delivery report still on its way for an old dispatch (a flush that timed out)
        // must not acknowledge a new one.
        state.watermark = AcknowledgementWatermark(checkpoint: state.watermark.checkpoint,
                                                   firstSequence: state.watermark.nextSequence)
        state.lastDispatched = state.watermark.checkpoint
    }
}

/// A table's delivery reports at least once, routed without a closure per row (`KafkaDeliveryReceiver`): counts the
/// acknowledged records and moves the table's checkpoint. The token is the row's dispatch sequence, or `untracked`
/// for a row without a numeric key.
final class TableDeliveries: KafkaDeliveryReceiver {
    static let untracked = KafkaProducer.maxDeliveryToken

    let progress: TableProgress
    let checkpoint: CheckpointWriter?
    let acknowledged: CoreMetrics.Counter

    init(progress: TableProgress, checkpoint: CheckpointWriter?, acknowledged: CoreMetrics.Counter) {
        self.progress = progress
        self.checkpoint = checkpoint
        self.acknowledged = acknowledged
    }

    func delivered(token: Int, partition: Int32, offset: Int64, error: KafkaError?) {
        if error == nil { acknowledged.increment() }
        guard token != Self.untracked else { return }
        if progress.delivered(token, error: error) { checkpoint?.markDirty() }
    }
}
