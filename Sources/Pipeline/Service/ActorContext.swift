import Logging
import Support
import Systemd

/// What every actor of one pipeline shares: its figures, its heartbeats (and through them the clock), its logger,
/// the test hooks and the pipeline's shutdown signal. One value instead of five constructor parameters per actor.
public struct ActorContext: Sendable {
    public var stats: PipelineStats
    public var heartbeats: Heartbeats
    public var logger: Logger
    public var hooks: TestHooks
    /// Triggered when the pipeline drains (SIGTERM, `--once` done, or an actor failed for good).
    public var shutdown: ShutdownSignal

    public init(stats: PipelineStats = PipelineStats(), heartbeats: Heartbeats = Heartbeats(), logger: Logger,
                hooks: TestHooks = .none, shutdown: ShutdownSignal = ShutdownSignal()) {
        self.stats = stats
        self.heartbeats = heartbeats
        self.logger = logger
        self.hooks = hooks
        self.shutdown = shutdown
    }

    /// The clock of every timer of the actors (heartbeats, ticks, batch ages, retry waits).
    public var clock: PipelineClock { heartbeats.clock }

    /// The same context, its logger tagged with the actor's name.
    public func with(actor: String) -> ActorContext {
        var copy = self
        copy.logger = logger.with(actor: actor)
        return copy
    }
}
