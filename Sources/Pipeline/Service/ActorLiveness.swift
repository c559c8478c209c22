import Support
import Systemd

/// One actor's heartbeat, and the waits that keep it honest.
///
/// A beat means "my loop turned", never "data arrived": an actor beats on every turn of its loop, and a loop
/// wakes on its own tick as well as on input. Waits that are not hangs (a retry backoff, the follow-mode poll
/// interval, an outage of a dependency) beat every `tick` while they last; a handler that is truly stuck does
/// not, so the watchdog supervisor sees it within `stale_after`.
///
/// Time is the heartbeats' clock (``Heartbeats/clock``), so a test drives the waits with a test clock.
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

    public var clock: PipelineClock { heartbeats.clock }

    public func register() { heartbeats.register(name) }
    public func unregister() { heartbeats.unregister(name) }
    public func beat() { heartbeats.beat(name) }

    /// Sleeps for `duration`, beating every tick, or until `shutdown` (when given) triggers or the task is
    /// cancelled; returns true when `shutdown` triggered. Nothing polls: the first of the timer, the shutdown and
    /// the cancellation ends the wait.
    @discardableResult
    public func sleep(for duration: Duration, or shutdown: ShutdownSignal? = nil) async -> Bool {
        beat()
        if shutdown?.isTriggered == true { return true }
        let clock = clock
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await clock.sleep(for: duration) }
            if let shutdown { group.addTask { await shutdown.wait() } }
            group.addTask { await self.beatEveryTick() }
            await group.next()
            group.cancelAll()
        }
        beat()
        return shutdown?.isTriggered ?? false
    }

    /// Runs `operation`, a wait on a dependency (acknowledgements from a broker that may be down), beating every
    /// tick until it returns. The ticker is a child task: it cannot outlive the wait.
    public func whileWaiting<T, E: Error>(_ operation: () async throws(E) -> T) async throws(E) -> T {
        beat()
        let result = await withTaskGroup(of: Void.self, returning: Result<T, E>.self) { group in
            group.addTask { await self.beatEveryTick() }
            defer { group.cancelAll() }
            do throws(E) {
                return .success(try await operation())
            } catch {
                return .failure(error)
            }
        }
        beat()
        return try result.get()
    }

    /// Beats every tick until the task is cancelled.
    func beatEveryTick() async {
        let clock = clock
        while (try? await clock.sleep(for: tick)) != nil {
            beat()
        }
    }
}
