/// The clock every timer of pinpipe reads: heartbeats and the watchdog supervisor, the sink's batch-age timer,
/// the retry waits. Production uses ``continuous``; a test wraps a test clock (swift-clocks' `TestClock`) and
/// moves time by hand, so no test depends on how fast the machine is.
///
/// It is a type-erased `Clock` whose instants are offsets from the moment the clock was made, so the types that
/// store instants (``Heartbeats``' last beats, a batch's opening time) need not be generic over the clock.
public struct PipelineClock: Clock, Sendable {
    public struct Instant: InstantProtocol, Sendable {
        /// Time since the clock was made.
        public var offset: Duration

        public init(offset: Duration) { self.offset = offset }

        public func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        public func duration(to other: Instant) -> Duration { other.offset - offset }
        public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
        public static func + (lhs: Instant, rhs: Duration) -> Instant { lhs.advanced(by: rhs) }
        public static func - (lhs: Instant, rhs: Duration) -> Instant { lhs.advanced(by: .zero - rhs) }
        public static func - (lhs: Instant, rhs: Instant) -> Duration { rhs.duration(to: lhs) }
    }

    private let elapsed: @Sendable () -> Duration
    private let sleeper: @Sendable (Instant, Duration?) async throws -> Void
    public let minimumResolution: Duration

    /// Wraps `base`; its current time becomes this clock's zero.
    public init<C: Clock>(_ base: C) where C.Duration == Duration {
        let start = base.now
        self.elapsed = { start.duration(to: base.now) }
        self.sleeper = { deadline, tolerance in
            try await base.sleep(until: start.advanced(by: deadline.offset), tolerance: tolerance)
        }
        self.minimumResolution = base.minimumResolution
    }

    /// The real, monotonic clock (`ContinuousClock`).
    public static var continuous: PipelineClock { PipelineClock(ContinuousClock()) }

    public var now: Instant { Instant(offset: elapsed()) }

    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        try await sleeper(deadline, tolerance)
    }
}
