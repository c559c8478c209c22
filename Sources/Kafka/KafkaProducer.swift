import CRdKafka
import Foundation
import Logging
import Support
import Synchronization

/// An idempotent (`acks=all`) Kafka producer with bounded in-flight records and per-record delivery callbacks.
///
/// - Important: Call `shutdown(timeout:)` before dropping the last reference: it flushes, stops the poll thread
///   and destroys the librdkafka client. Records still unacknowledged then get a delivery error. A producer
///   dropped without it is not leaked: `deinit` stops the poll thread, which purges (every `onDelivery` still
///   runs, with an error) and destroys the client. The poll thread holds the client's state, never the producer.
public final class KafkaProducer: Sendable {
    let handle: RDKafkaHandle
    let context: RDKafkaClientContext
    let state: ProducerCallbackState
    let configuration: KafkaProducerConfiguration
    let logger: Logger
    let admin: BlockingExecutor
    /// Runs the poll loop (one job, for the producer's life) and, at its end, the teardown.
    private let pollThread = BlockingExecutor(name: "kafka-produce")
    private let shutdownStarted = Atomic<Bool>(false)

    /// Creates the client (defaults `acks=all`, `enable.idempotence=true`; `configuration.properties` override
    /// them) and starts its poll thread.
    public init(configuration: KafkaProducerConfiguration, logger: Logger) throws(KafkaError) {
        guard configuration.maxInFlight > 0 else {
            throw KafkaError(code: .invalidConfiguration, message: "maxInFlight must be positive", isRetriable: false)
        }
        let state = ProducerCallbackState(maxInFlight: configuration.maxInFlight)
        let context = RDKafkaClientContext(
            logger: logger, bootstrapServers: configuration.bootstrapServers, producer: state,
            oauthBearer: configuration.oauthBearer)
        let handle = try RDKafkaConfiguration.makeClient(
            type: RD_KAFKA_PRODUCER, properties: configuration.librdkafkaProperties, context: context
        ) { conf in
            rd_kafka_conf_set_dr_msg_cb(conf) { rk, message, opaque in
                guard let message, let opaque, let record = message.pointee._private else { return }
                let context = Unmanaged<RDKafkaClientContext>.fromOpaque(opaque).takeUnretainedValue()
                let m = message.pointee
                if let (index, token) = DeliveryReceiverTable.decode(record) {
                    // A routed record: no box, the receiver registered once.
                    guard let state = context.producer else { return }
                    state.releaseSlot()
                    guard let receiver = state.receivers.receiver(at: index) else { return }
                    if m.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                        receiver.delivered(token: token, partition: m.partition, offset: m.offset, error: nil)
                    } else {
                        let topic = m.rkt.flatMap { rd_kafka_topic_name($0) }.map { String(cString: $0) }
                        receiver.delivered(token: token, partition: m.partition, offset: m.offset,
                                           error: KafkaProducer.deliveryError(m, handle: rk, topic: topic))
                    }
                    return
                }
                let box = Unmanaged<DeliveryBox>.fromOpaque(record).takeRetainedValue()
                // The slot first: once a caller hears of its delivery, `inFlight` no longer counts the record.
                context.producer?.releaseSlot()
                if m.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                    box.onDelivery(.success(KafkaDeliveryReport(topic: box.topic, partition: m.partition, offset: m.offset)))
                } else {
                    box.onDelivery(.failure(KafkaProducer.deliveryError(m, handle: rk, topic: box.topic)))
                }
            }
        }
        self.handle = RDKafkaHandle(handle)
        self.context = context
        self.state = state
        self.configuration = configuration
        self.logger = logger
        self.admin = BlockingExecutor(name: "kafka-admin")
        state.attachMainQueue(of: handle)
        pollThread.submit { [handle = self.handle, context, state, logger] in
            withExtendedLifetime(context) {  // the callbacks' opaque: alive until the client is destroyed
                KafkaProducer.pollLoop(handle: handle, state: state, logger: logger)
            }
        }
        pollThread.shutdown()  // the loop is its last job: the thread ends with it
        logger.info(
            "Kafka producer started",
            metadata: [
                "kafka.bootstrap": "\(configuration.bootstrapServers)", "kafka.maxInFlight": "\(configuration.maxInFlight)",
            ])
    }

    /// Records handed to librdkafka whose delivery report has not arrived yet.
    public var inFlight: Int { state.window.withLock { $0.inFlight } }

    /// True while `maxInFlight` records are unacknowledged: the next `produce` waits for an acknowledgement.
    public var isWindowFull: Bool { state.window.withLock { $0.isFull } }

    /// The most records that were ever in flight at once (never above `maxInFlight`).
    public var maxObservedInFlight: Int { state.window.withLock { $0.highWatermark } }

    /// Enqueues one record; suspends (never drops, never grows without bound) while `maxInFlight` records are
    /// unacknowledged. `onDelivery` is called exactly once, on the poll thread, with the partition and offset or
    /// a typed error. A full local queue (`QUEUE_FULL`) is retried internally.
    ///
    /// - Parameters:
    ///   - value: nil produces a record without a value (a tombstone).
    ///   - partition: nil lets the partitioner choose (by key); a partition the topic does not have fails the
    ///     delivery with `UNKNOWN_PARTITION`.
    public func produce(
        topic: String, partition: Int32? = nil, key: [UInt8]?, value: [UInt8]?, headers: [KafkaHeader] = [],
        onDelivery: @escaping @Sendable (Result<KafkaDeliveryReport, KafkaError>) -> Void
    ) async throws(KafkaError) {
        state.activeEnqueues.enter()
        defer { state.activeEnqueues.leave() }
        guard !state.closed.load(ordering: .sequentiallyConsistent) else { throw .shutDown("produce") }
        try await acquireSlot()
        let rkt: OpaquePointer
        do throws(KafkaError) {
            rkt = try topicHandle(topic)
        } catch {
            state.releaseSlot()
            throw error
        }
        let box = Unmanaged.passRetained(DeliveryBox(topic: topic, onDelivery: onDelivery))
        do throws(KafkaError) {
            try await enqueueHoldingSlot(rkt: rkt, topic: topic, partition: partition, key: key, value: value,
                                         headers: headers, opaque: box.toOpaque())
        } catch {
            box.release()
            throw error
        }
    }

    /// Registers `receiver` for records to `topic` (once; the registration lasts for the producer's life).
    public func route(topic: String, receiver: any KafkaDeliveryReceiver) throws(KafkaError) -> KafkaDeliveryRoute {
        let rkt = try topicHandle(topic)
        guard let index = state.receivers.register(receiver) else {
            throw KafkaError(code: .invalidConfiguration, message: "too many delivery receivers on one producer",
                             isRetriable: false)
        }
        return KafkaDeliveryRoute(topic: topic, index: index, topicHandle: RDKafkaHandle(rkt))
    }

    /// `produce(topic:…onDelivery:)` without an allocation per record: the delivery report goes to the route's
    /// receiver with `token` (0 … `KafkaProducer.maxDeliveryToken`). Same backpressure and guarantees.
    public func produce(
        route: KafkaDeliveryRoute, token: Int, partition: Int32? = nil, key: [UInt8]?, value: [UInt8]?,
        headers: [KafkaHeader] = []
    ) async throws(KafkaError) {
        state.activeEnqueues.enter()
        defer { state.activeEnqueues.leave() }
        guard !state.closed.load(ordering: .sequentiallyConsistent) else { throw .shutDown("produce") }
        try await acquireSlot()
        try await enqueueHoldingSlot(
            rkt: route.topicHandle.pointer, topic: route.topic, partition: partition, key: key, value: value,
            headers: headers, opaque: DeliveryReceiverTable.opaque(index: route.index, token: token))
    }

    /// `produce(route:token:…)` for many records in one call (`rd_kafka_produce_batch`): one topic lock, one clock
    /// reading and one window update per call instead of per record, and no headers. Records are enqueued in order;
    /// suspends while the window is full, as `produce` does.
    ///
    /// - Parameter enqueued: increased by the number of records handed to librdkafka (each gets a delivery
    ///   report), also when the call throws.
    /// - Throws: when a record cannot be enqueued (other than librdkafka's queue being full, which is waited out).
    ///   The records before it are enqueued and get their delivery reports; of the ones after it, librdkafka may
    ///   have taken some (their delivery reports tell), so the caller re-sends from its acknowledged position.
    public func produce(route: KafkaDeliveryRoute, batch: KafkaProduceBatch, enqueued: inout Int)
        async throws(KafkaError)
    {
        state.activeEnqueues.enter()
        defer { state.activeEnqueues.leave() }
        guard !state.closed.load(ordering: .sequentiallyConsistent) else { throw .shutDown("produce") }
        var next = 0
        while next < batch.count {
            let granted = try await acquireSlots(upTo: batch.count - next)
            var done = 0
            var seen: Int?
            while done < granted {
                let attempted = granted - done
                let outcome = enqueueBatch(route: route, batch: batch, from: next + done, count: attempted)
                enqueued += attempted - outcome.failed
                done += outcome.enqueued
                if done == granted { break }
                if outcome.error == RD_KAFKA_RESP_ERR__QUEUE_FULL && outcome.failed == granted - done
                    && !Task.isCancelled && !state.stopRequested.load(ordering: .relaxed)
                {
                    // librdkafka's own queue limit: it fails every record after a full queue, so the rest is still
                    // to send. Wait for the next delivery report, then go on (as `enqueueHoldingSlot` does).
                    if let seen { await state.deliveries.wait(after: seen) }
                    seen = state.deliveries.generation
                    continue
                }
                // Records librdkafka took report back (and free their slots); the failed ones free theirs here.
                for _ in 0..<outcome.failed { state.releaseSlot() }
                throw KafkaError(outcome.error, handle: handle.pointer, context: "cannot enqueue a record",
                                 topic: route.topic)
            }
            next += granted
        }
    }

    /// Takes at least one window slot (waiting for it when the window is full) and at most `count`.
    private func acquireSlots(upTo count: Int) async throws(KafkaError) -> Int {
        let taken = state.window.withLock { $0.tryAcquire(upTo: count) }
        if taken > 0 { return taken }
        try await acquireSlot()
        return 1 + state.window.withLock { $0.tryAcquire(upTo: count - 1) }
    }

    /// One `rd_kafka_produce_batch` call for `count` records from `start`: how many were enqueued before the first
    /// that was not, that record's error, and how many records from it on were not enqueued (librdkafka goes on after
    /// a record it refuses for a reason other than a full queue).
    private func enqueueBatch(
        route: KafkaDeliveryRoute, batch: KafkaProduceBatch, from start: Int, count: Int
    ) -> (enqueued: Int, error: rd_kafka_resp_err_t, failed: Int) {
        batch.bytes.withUnsafeBytes { raw -> (Int, rd_kafka_resp_err_t, Int) in
            let base = UnsafeMutableRawPointer(mutating: raw.baseAddress)
            return withUnsafeTemporaryAllocation(of: rd_kafka_message_t.self, capacity: count) { messages in
                for i in 0..<count {
                    let e = batch.entries[start + i]
                    var m = rd_kafka_message_t()
                    m.payload = base.map { $0 + e.valueStart }
                    m.len = e.valueCount
                    if e.keyCount >= 0 {
                        m.key = base.map { UnsafeMutableRawPointer($0 + e.keyStart) }
                        m.key_len = e.keyCount
                    }
                    m._private = DeliveryReceiverTable.opaque(index: route.index, token: e.token)
                    messages.initializeElement(at: i, to: m)
                }
                defer { messages.baseAddress!.deinitialize(count: count) }
                let good = Int(rd_kafka_produce_batch(
                    route.topicHandle.pointer, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, messages.baseAddress, Int32(count)))
                if good == count { return (count, RD_KAFKA_RESP_ERR_NO_ERROR, 0) }
                var first = 0
                while first < count && messages[first].err == RD_KAFKA_RESP_ERR_NO_ERROR { first += 1 }
                return (first, first < count ? messages[first].err : RD_KAFKA_RESP_ERR_NO_ERROR, count - good)
            }
        }
    }

    /// The largest token `produce(route:token:…)` takes.
    public static let maxDeliveryToken = DeliveryReceiverTable.maxToken

    /// Enqueues with a slot already taken; on failure the slot is given back (the caller frees its opaque).
    private func enqueueHoldingSlot(
        rkt: OpaquePointer, topic: String, partition: Int32?, key: [UInt8]?, value: [UInt8]?, headers: [KafkaHeader],
        opaque: UnsafeMutableRawPointer
    ) async throws(KafkaError) {
        var seen: Int?
        while true {
            let err = enqueue(rkt: rkt, partition: partition, key: key, value: value, headers: headers, opaque: opaque)
            if err == RD_KAFKA_RESP_ERR_NO_ERROR { return }
            if err == RD_KAFKA_RESP_ERR__QUEUE_FULL && !Task.isCancelled
                && !state.stopRequested.load(ordering: .relaxed)
            {
                // librdkafka's own queue limit (a user property may set it below maxInFlight): wait for the next
                // delivery report (or the teardown), then try again. The generation is read before an attempt
                // (so a report in between is never missed), and only once the queue was found full.
                if let seen {
                    await state.deliveries.wait(after: seen)
                }
                seen = state.deliveries.generation
                continue
            }
            state.releaseSlot()
            throw KafkaError(err, handle: handle.pointer, context: "cannot enqueue a record", topic: topic)
        }
    }

    /// A failed delivery's error; fatal when the client has a fatal error (then nothing will succeed again).
    static func deliveryError(_ m: rd_kafka_message_t, handle rk: OpaquePointer?, topic: String?) -> KafkaError {
        var error = KafkaError(m.err, handle: rk, context: "delivery failed", topic: topic, partition: m.partition)
        if !error.isFatal, let rk, let fatal = KafkaError.fatal(of: rk) {
            error.isFatal = true
            error.isRetriable = false
            error.message += " (client fatal error \(fatal.code.name): \(fatal.message))"
        }
        return error
    }

    /// `produce`, then waits for the record's delivery report.
    public func send(
        topic: String, key: [UInt8]?, value: [UInt8], headers: [KafkaHeader] = []
    ) async throws(KafkaError) -> KafkaDeliveryReport {
        let promise = DeliveryPromise()
        try await produce(topic: topic, key: key, value: value, headers: headers) { promise.fulfill($0) }
        return try await promise.wait().get()
    }

    /// Waits until every record enqueued so far is acknowledged (or failed). Runs `rd_kafka_flush` on the poll
    /// thread, so delivery callbacks stay on that one thread.
    public func flush(timeout: Duration) async throws(KafkaError) {
        guard !state.stopRequested.load(ordering: .sequentiallyConsistent) else { throw .shutDown("flush") }
        let deadline = ContinuousClock.now + timeout
        let drained = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            state.flushRequests.withLock {
                $0.append(.init(deadline: deadline, continuation: continuation))
            }
            state.wakePollThread()
        }
        guard drained else {
            throw KafkaError(
                code: .timedOut,
                message: "flush did not complete within \(timeout): \(inFlight) record(s) still unacknowledged"
                    + lastErrorSuffix)
        }
    }

    /// Flushes (up to `timeout`), stops the poll thread and destroys the client. Records still unacknowledged
    /// afterwards are purged: their `onDelivery` gets a `_PURGE_*` error. Idempotent.
    public func shutdown(timeout: Duration) async {
        guard !shutdownStarted.exchange(true, ordering: .sequentiallyConsistent) else {
            await waitForPollThread()
            return
        }
        do {
            try await flush(timeout: timeout)
        } catch {
            logger.info("Kafka producer flush before shutdown incomplete", metadata: ["kafka.error": "\(error)"])
        }
        state.stopRequested.store(true, ordering: .sequentiallyConsistent)
        state.wakePollThread()
        await waitForPollThread()
        await admin.shutdownAndWait()
        logger.info("Kafka producer shut down")
    }

    var lastErrorSuffix: String {
        context.lastError.map { " (last client error: \($0.code.name): \($0.message))" } ?? ""
    }

    private func waitForPollThread() async {
        await pollThread.shutdownAndWait()
    }

    private func acquireSlot() async throws(KafkaError) {
        if state.window.withLock({ $0.tryAcquire() }) { return }
        let acquired = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let result = state.window.withLock { $0.acquire(orEnqueue: continuation) }
            switch result {
            case .acquired: continuation.resume(returning: true)
            case .closed: continuation.resume(returning: false)
            case .wait: break
            }
        }
        guard acquired else { throw .shutDown("produce") }
    }

    private func topicHandle(_ topic: String) throws(KafkaError) -> OpaquePointer {
        let rk = handle.pointer
        let cached = state.topics.withLock { topics -> RDKafkaHandle? in
            if let existing = topics[topic] { return existing }
            guard let rkt = rd_kafka_topic_new(rk, topic, nil) else { return nil }
            topics[topic] = RDKafkaHandle(rkt)
            return RDKafkaHandle(rkt)
        }
        guard let cached else {
            throw KafkaError(rd_kafka_last_error(), handle: rk, context: "invalid topic", topic: topic)
        }
        return cached.pointer
    }

    /// One `rd_kafka_produceva` call; librdkafka copies key, value and headers (`RD_KAFKA_MSG_F_COPY`).
    private func enqueue(
        rkt: OpaquePointer, partition: Int32?, key: [UInt8]?, value: [UInt8]?, headers: [KafkaHeader],
        opaque: UnsafeMutableRawPointer
    ) -> rd_kafka_resp_err_t {
        let rk = handle.pointer
        return withOptionalBytes(value) { valueBytes in
            withOptionalBytes(key) { keyBytes in
                withUnsafeTemporaryAllocation(of: rd_kafka_vu_t.self, capacity: 6 + headers.count) { vus in
                    var count = 0
                    func add(_ type: rd_kafka_vtype_t, _ fill: (inout rd_kafka_vu_t) -> Void) {
                        var vu = rd_kafka_vu_t()
                        vu.vtype = type
                        fill(&vu)
                        vus.initializeElement(at: count, to: vu)
                        count += 1
                    }
                    add(RD_KAFKA_VTYPE_RKT) { $0.u.rkt = rkt }
                    add(RD_KAFKA_VTYPE_MSGFLAGS) { $0.u.i = RD_KAFKA_MSG_F_COPY }
                    add(RD_KAFKA_VTYPE_OPAQUE) { $0.u.ptr = opaque }
                    if let valueBytes {
                        add(RD_KAFKA_VTYPE_VALUE) {
                            $0.u.mem.ptr = UnsafeMutableRawPointer(mutating: valueBytes.baseAddress)
                            $0.u.mem.size = valueBytes.count
                        }
                    }
                    if let partition { add(RD_KAFKA_VTYPE_PARTITION) { $0.u.i32 = partition } }
                    if let keyBytes {
                        add(RD_KAFKA_VTYPE_KEY) {
                            $0.u.mem.ptr = UnsafeMutableRawPointer(mutating: keyBytes.baseAddress)
                            $0.u.mem.size = keyBytes.count
                        }
                    }
                    // librdkafka copies header names and values during the call: lay them out in one scratch buffer
                    // (names NUL-terminated), on the stack when small, rather than one allocation per string.
                    let scratchSize = headers.reduce(0) { $0 + $1.key.utf8.count + 1 + $1.value.count }
                    return withUnsafeTemporaryAllocation(byteCount: max(1, scratchSize), alignment: 1) { scratch in
                        var cursor = 0
                        for header in headers {
                            let name = scratch.baseAddress! + cursor
                            for byte in header.key.utf8 {
                                scratch[cursor] = byte
                                cursor += 1
                            }
                            scratch[cursor] = 0
                            cursor += 1
                            let bytes = scratch.baseAddress! + cursor
                            header.value.withUnsafeBytes { source in
                                if let base = source.baseAddress { bytes.copyMemory(from: base, byteCount: source.count) }
                            }
                            cursor += header.value.count
                            add(RD_KAFKA_VTYPE_HEADER) {
                                $0.u.header.name = UnsafePointer(name.assumingMemoryBound(to: CChar.self))
                                $0.u.header.val = UnsafeRawPointer(bytes)
                                $0.u.header.size = header.value.count
                            }
                        }
                        defer { vus.baseAddress!.deinitialize(count: count) }
                        guard let error = rd_kafka_produceva(rk, vus.baseAddress, count) else {
                            return RD_KAFKA_RESP_ERR_NO_ERROR
                        }
                        let code = rd_kafka_error_code(error)
                        rd_kafka_error_destroy(error)
                        return code
                    }
                }
            }
        }
    }

    deinit {
        guard !shutdownStarted.exchange(true, ordering: .sequentiallyConsistent) else { return }
        logger.warning("Kafka producer dropped without shutdown(timeout:); unacknowledged records fail, client destroyed")
        state.stopRequested.store(true, ordering: .sequentiallyConsistent)
        state.wakePollThread()
        KafkaProducer.destroyedInDeinit.add(1, ordering: .relaxed)
    }

    /// How many producers `deinit` had to stop (tests read it).
    static let destroyedInDeinit = Atomic<Int>(0)

    /// The poll thread: serves delivery reports, flush requests and, on shutdown, the teardown.
    private static func pollLoop(handle: RDKafkaHandle, state: ProducerCallbackState, logger: Logger) {
        let rk = handle.pointer
        while !state.stopRequested.load(ordering: .sequentiallyConsistent) {
            if state.flushRequests.withLock({ $0.isEmpty }) {
                rd_kafka_poll(rk, 100)
                continue
            }
            let err = rd_kafka_flush(rk, 100)
            let now = ContinuousClock.now
            let finished = state.flushRequests.withLock { requests -> [(ProducerCallbackState.FlushRequest, Bool)] in
                if err == RD_KAFKA_RESP_ERR_NO_ERROR {
                    defer { requests.removeAll() }
                    return requests.map { ($0, true) }
                }
                let expired = requests.filter { $0.deadline <= now }
                requests.removeAll { $0.deadline <= now }
                return expired.map { ($0, false) }
            }
            for (request, drained) in finished { request.continuation.resume(returning: drained) }
        }
        teardown(rk, state: state, logger: logger)
    }

    private static func teardown(_ rk: OpaquePointer, state: ProducerCallbackState, logger: Logger) {
        state.closed.store(true, ordering: .sequentiallyConsistent)
        for waiter in state.window.withLock({ $0.close() }) { waiter.resume(returning: false) }
        state.deliveries.signal()  // a produce waiting out QUEUE_FULL sees the stop and leaves
        state.activeEnqueues.waitUntilIdle()
        // Whatever is still queued or in flight fails with _PURGE_QUEUE/_PURGE_INFLIGHT, so every onDelivery runs.
        let purge = rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT)
        if purge != RD_KAFKA_RESP_ERR_NO_ERROR {
            logger.debug("purge failed", metadata: ["kafka.error": "\(String(cString: rd_kafka_err2str(purge)))"])
        }
        let deadline = ContinuousClock.now + .seconds(5)
        while rd_kafka_outq_len(rk) > 0 && ContinuousClock.now < deadline { rd_kafka_poll(rk, 50) }
        let flushes = state.flushRequests.withLock { requests in
            defer { requests.removeAll() }
            return requests
        }
        for request in flushes { request.continuation.resume(returning: false) }
        for (_, rkt) in state.topics.withLock({ $0 }) { rd_kafka_topic_destroy(rkt.pointer) }
        state.topics.withLock { $0.removeAll() }
        state.releaseMainQueue()
        rd_kafka_destroy(rk)
    }
}

/// Calls `body` with the bytes of `array`, or with `nil` when there is no array.
func withOptionalBytes<R>(_ array: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
    guard let array else { return body(nil) }
    return array.withUnsafeBytes { body($0) }
}
