import Systemd

/// One actor's heartbeat, and the waits that keep it honest.
///
/// A beat means "my loop turned", never "data arrived": an actor beats on every turn of its loop, and a loop
/// wakes on its own tick as well as on input. Waits that are not hangs (a retry backoff, the follow-mode poll
/// interval, an outage of a dependency) beat every `tick` while they last; a handler that is truly stuck does
/// not, so the watchdog supervisor sees it within `stale_after`.
public struct ActorLiveness: Sendable {
    public let heartbeats: Heartbeats
    public let name: String
    /// How often an idle loop or a long wait beats; well below any sensible `stale_after`.
    public let tick: Duration

    public init(heartbeats: Heartbeats, name: String, tick: Duration = .seconds(1)) {
        self.heartbeats = heartbeats
        self.name = name
        self.tick = tick
    }

    public func register() { heartbeats.register(name) }
    public func unregister() { heartbeats.unregister(name) }
    public func beat() { heartbeats.beat(name) }

    /// Sleeps for `duration`, beating every tick, or until `shutdown` (when given) triggers or the task is
    /// cancelled; returns true when `shutdown` triggered.
    @discardableResult
    public func sleep(for duration: Duration, or shutdown: ShutdownSignal? = nil) async -> Bool {
        let deadline = ContinuousClock.now + duration
        while !Task.isCancelled {
            beat()
            let left = deadline - .now
            if left <= .zero { break }
            if let shutdown {
                if await shutdown.sleep(for: min(left, tick)) { return true }
            } else {
                try? await Task.sleep(for: min(left, tick))
            }
        }
        beat()
        return shutdown?.isTriggered ?? false
    }

    /// Runs `operation`, a wait on a dependency (acknowledgements from a broker that may be down), beating every
    /// tick until it returns.
    public func whileWaiting<T, E: Error>(_ operation: () async throws(E) -> T) async throws(E) -> T {
        let ticker = Task { [self] in
            while !Task.isCancelled {
                beat()
                try? await Task.sleep(for: tick)
            }
        }
        defer { ticker.cancel() }
        return try await operation()
    }
}
