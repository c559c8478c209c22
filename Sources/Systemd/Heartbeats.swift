import Support
import Synchronization

/// The last loop turn of each long-running actor, for the watchdog.
///
/// Each actor registers under a name, then calls `beat(_:)` on every turn of its loop (one short lock). The
/// watchdog supervisor asks which ones have not beaten for too long. Time is `clock`, which the supervisor and
/// the actors' waits (`ActorLiveness`) read too, so a test drives all of them with one test clock.
public final class Heartbeats: Sendable {
    private struct Beat {
        var last: PipelineClock.Instant
        var count = 0
    }

    private let lastBeats = Mutex<[String: Beat]>([:])
    /// The clock of the beats, the supervisor's cadence and the actors' timed waits.
    public let clock: PipelineClock

    public init(clock: PipelineClock = .continuous) {
        self.clock = clock
    }

    /// Starts watching `name`; registering counts as a beat.
    public func register(_ name: String) {
        let now = clock.now
        lastBeats.withLock { $0[name] = Beat(last: now) }
    }

    /// Records a loop turn. Beats of unregistered names are ignored, so a late beat after `unregister` does
    /// not resurrect a finished actor.
    public func beat(_ name: String) {
        let now = clock.now
        lastBeats.withLock { beats in
            if beats[name] != nil {
                beats[name]!.last = now
                beats[name]!.count += 1
            }
        }
    }

    /// How often `name` beat since it registered: how many times its loop turned, whatever the clock says.
    public func beatCount(_ name: String) -> Int {
        lastBeats.withLock { $0[name]?.count ?? 0 }
    }

    /// Stops watching `name` (its loop ended on purpose).
    public func unregister(_ name: String) {
        _ = lastBeats.withLock { $0.removeValue(forKey: name) }
    }

    /// The registered names.
    public var names: [String] {
        lastBeats.withLock { Array($0.keys) }.sorted()
    }

    /// How long ago each registered actor last beat, as seen at `now`.
    public func ages(now: PipelineClock.Instant) -> [String: Duration] {
        lastBeats.withLock { beats in beats.mapValues { now - $0.last } }
    }

    /// The names, sorted, whose last beat is strictly older than `olderThan` at `now`.
    public func stale(olderThan: Duration, now: PipelineClock.Instant) -> [String] {
        ages(now: now).filter { $0.value > olderThan }.map(\.key).sorted()
    }

    /// How long ago each registered actor last beat, as seen now.
    public func ages() -> [String: Duration] { ages(now: clock.now) }
}
