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
        state.withLock { state in
            switch result {
            case .success:
                return state.watermark.acknowledge(sequence)
            case .failure(let error):
                if state.failure == nil { state.failure = error }
                return false
            }
        }
    }

    /// Exactly-once: the rows after `key` were aborted; dispatch again from there (nil: from the start).
    func rewind(to key: Int64?) {
        state.withLock { state in
            state.watermark = AcknowledgementWatermark(checkpoint: key)
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
            state.failure = nil
            state.watermark = AcknowledgementWatermark(checkpoint: state.watermark.checkpoint)
            state.lastDispatched = state.watermark.checkpoint
            return failure
        }
    }
}
