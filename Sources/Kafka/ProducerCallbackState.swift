import Dispatch
import CRdKafka
import Synchronization

/// The producer state that the poll thread (delivery callback, flush, teardown) and `produce` share.
final class ProducerCallbackState: Sendable {
    typealias Waiter = CheckedContinuation<Bool, Never>

    /// A `flush` caller waiting for the poll thread to drain the queue.
    struct FlushRequest: Sendable {
        let deadline: ContinuousClock.Instant
        let continuation: CheckedContinuation<Bool, Never>
    }

    let window: Mutex<InFlightWindow<Waiter>>
    let flushRequests = Mutex<[FlushRequest]>([])
    /// Set by `shutdown`: the poll thread leaves its loop and tears the client down.
    let stopRequested = Atomic<Bool>(false)
    /// Set before teardown: `produce` refuses new records.
    let closed = Atomic<Bool>(false)
    /// `produce` calls between their closed-check and their end; teardown waits until none is left.
    let activeEnqueues = EnqueueGate()
    /// The receivers of routed records (`KafkaProducer.route(topic:receiver:)`).
    let receivers = DeliveryReceiverTable()
    /// `rd_kafka_topic_t` handles by name, destroyed at teardown.
    let topics = Mutex<[String: RDKafkaHandle]>([:])

    /// A reference to the client's main queue (the one `rd_kafka_poll` serves), so another thread can end the poll
    /// thread's wait at once (`rd_kafka_queue_yield`) when it posts a flush or a stop, rather than after the wait's
    /// 100 ms. Released by the teardown, under the lock, before the client is destroyed.
    private let mainQueue = Mutex<RDKafkaHandle?>(nil)

    init(maxInFlight: Int) {
        window = Mutex(InFlightWindow(limit: maxInFlight))
    }

    func attachMainQueue(of rk: OpaquePointer) {
        guard let queue = rd_kafka_queue_get_main(rk) else { return }
        mainQueue.withLock { $0 = RDKafkaHandle(queue) }
    }

    /// Ends the poll thread's current `rd_kafka_poll` wait (or the next one, when it is not waiting).
    func wakePollThread() {
        mainQueue.withLock { queue in
            if let queue { rd_kafka_queue_yield(queue.pointer) }
        }
    }

    func releaseMainQueue() {
        mainQueue.withLock { queue in
            if let queue { rd_kafka_queue_destroy(queue.pointer) }
            queue = nil
        }
    }

    /// `produce` calls waiting for librdkafka's own queue to shrink (`QUEUE_FULL`), resumed by the next delivery
    /// report or the teardown: a continuation, not a sleep.
    let deliveries = DeliverySignal()

    /// Frees one in-flight slot and hands it to the oldest parked `produce`, if any.
    func releaseSlot() {
        if let waiter = window.withLock({ $0.release() }) {
            waiter.resume(returning: true)
        }
        deliveries.signal()
    }
}

/// What the delivery callback needs to know about one record; passed to librdkafka as the message opaque
/// (retained on enqueue, released exactly once in the delivery callback or on enqueue failure).
final class DeliveryBox: Sendable {
    let topic: String
    let onDelivery: @Sendable (Result<KafkaDeliveryReport, KafkaError>) -> Void

    init(topic: String, onDelivery: @escaping @Sendable (Result<KafkaDeliveryReport, KafkaError>) -> Void) {
        self.topic = topic
        self.onDelivery = onDelivery
    }
}

/// One `send` waiting for its delivery report: the report may arrive before or after the caller suspends.
final class DeliveryPromise: Sendable {
    private enum State {
        case pending
        case waiting(CheckedContinuation<Result<KafkaDeliveryReport, KafkaError>, Never>)
        case done(Result<KafkaDeliveryReport, KafkaError>)
    }

    private let state = Mutex(State.pending)

    func fulfill(_ result: Result<KafkaDeliveryReport, KafkaError>) {
        let waiter = state.withLock { state -> CheckedContinuation<Result<KafkaDeliveryReport, KafkaError>, Never>? in
            if case .waiting(let continuation) = state {
                state = .done(result)
                return continuation
            }
            state = .done(result)
            return nil
        }
        waiter?.resume(returning: result)
    }

    func wait() async -> Result<KafkaDeliveryReport, KafkaError> {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Result<KafkaDeliveryReport, KafkaError>? in
                if case .done(let result) = state { return result }
                state = .waiting(continuation)
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}

/// Counts the `produce` calls in progress; the poll thread's teardown waits (blocking its own thread on a
/// semaphore the last call signals, no polling) until none is left.
final class EnqueueGate: Sendable {
    private struct State {
        var active = 0
        var idle: DispatchSemaphore?
    }

    private let state = Mutex(State())

    func enter() { state.withLock { $0.active += 1 } }

    func leave() {
        let idle = state.withLock { state -> DispatchSemaphore? in
            state.active -= 1
            guard state.active == 0 else { return nil }
            defer { state.idle = nil }
            return state.idle
        }
        idle?.signal()
    }

    /// Blocks the calling thread until no call is in progress. Only for the producer's own poll thread.
    func waitUntilIdle() {
        let idle = state.withLock { state -> DispatchSemaphore? in
            guard state.active > 0 else { return nil }
            let semaphore = state.idle ?? DispatchSemaphore(value: 0)
            state.idle = semaphore
            return semaphore
        }
        idle?.wait()
    }
}

/// "A delivery report arrived": a generation counter and the tasks waiting for it to move.
final class DeliverySignal: Sendable {
    private struct State {
        var generation = 0
        var nextID = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    /// Read it before the attempt that may have to wait, so a report in between is never missed.
    var generation: Int { state.withLock { $0.generation } }

    /// Moves the generation and resumes every waiter.
    func signal() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.generation += 1
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        waiters.forEach { $0.resume() }
    }

    /// Returns once the generation moved past `seen`, or once the calling task is cancelled.
    func wait(after seen: Int) async {
        let id = state.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.generation != seen || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}
