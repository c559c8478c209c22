import NIOCore
import Systemd

extension PipelineRuntime {
    /// The figures every actor updates; `/metrics` and STATUS read them.
    public var pipelineStats: PipelineStats { stats }

    /// The actors' loop heartbeats, which the watchdog and `/healthz` judge.
    public var actorHeartbeats: Heartbeats { heartbeats }

    /// A drain started (SIGTERM, `--once` done, or a failing actor): no longer ready.
    public var isDraining: Bool { shutdown.isTriggered }

    /// The heartbeat age that counts as hung, exactly as the watchdog supervisor decides it (nil: no detection).
    public var staleThreshold: Duration? {
        WatchdogDecision.threshold(watchdogInterval: SystemdWatchdog.interval(), staleAfter: configuration.health.staleAfter)
    }

    /// Where the REST endpoint listens (nil before it does, or without the `rest` role).
    public var restAddress: SocketAddress? { restBound.withLock { $0 } }
}
