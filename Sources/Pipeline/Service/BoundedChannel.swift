import AsyncAlgorithms
import Support
import Synchronization

/// The bounded hand-over between the topic consumer and the S3 sink, over swift-async-algorithms'
/// `MultiProducerSingleConsumerAsyncChannel` with watermark backpressure (counted in records, not batches).
///
/// The sending side never suspends: `trySend` always enqueues (the consumer polls at most one batch more) and
/// reports when the water level went above the high watermark, so the consumer can pause its partitions and keep
/// polling; `isFull` turns false once the sink drained below the low watermark.
public final class BoundedChannel<Element: Sendable>: Sendable {
    typealias Channel = MultiProducerSingleConsumerAsyncChannel<Element, Never>
    private let source: Mutex<Channel.Source?>
    /// Set while there is room; the channel's enqueue callback sets it again once the sink drained.
    private let room = AsyncCondition(isSet: true)

    /// Creates the channel and returns the receiving side as an async sequence for the single consumer.
    public static func make(low: Int, high: Int, weight: @escaping @Sendable (borrowing Element) -> Int)
        -> (channel: BoundedChannel, elements: some AsyncSequence<Element, Never> & Sendable)
    {
        var pair = Channel.makeChannel(of: Element.self, backpressureStrategy: .watermark(
            low: low, high: high, waterLevelForElement: weight))
        let receiver = pair.takeChannel()
        let channel = BoundedChannel(source: pair.source)
        return (channel, receiver.elements())
    }

    private init(source: consuming sending Channel.Source) {
        self.source = Mutex(Optional(source))
    }

    /// True while the sink is behind (above the high watermark until it drained below the low one).
    public var isFull: Bool { !room.isSet }

    /// Waits until the channel is no longer full, `timeout` (on `clock`) passed or `shutdown` triggered, whichever
    /// comes first; returns whether there is room. The sink's draining resumes the wait (no polling).
    public func waitUntilNotFull(timeout: Duration, or shutdown: ShutdownSignal? = nil,
                                 clock: PipelineClock = .continuous) async -> Bool {
        guard isFull else { return true }
        let room = room
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await room.wait() }
            group.addTask { try? await clock.sleep(for: timeout) }
            if let shutdown { group.addTask { await shutdown.wait() } }
            await group.next()
            group.cancelAll()
        }
        return !isFull
    }

    /// Enqueues `element`; returns false when the channel is now full and the caller should stop producing.
    @discardableResult
    public func trySend(_ element: sending Element) -> Bool {
        let room = room
        return source.withLock { source -> Bool in
            guard source != nil else { return true }
            do {
                switch try source!.send(element) {
                case .produceMore:
                    return true
                case .enqueueCallback(var handle):
                    room.reset()
                    handle.enqueueCallback { @Sendable _ in room.set() }
                    return false
                }
            } catch {
                // The receiving side is gone (the sink stopped): nothing more to deliver.
                return true
            }
        }
    }

    /// Ends the stream: the receiver sees the remaining elements, then the end.
    public func finish() {
        source.withLock { source in
            source.take()?.finish()
        }
    }
}
