import Logging
import Support

/// Keeps systemd's watchdog fed while every actor's loop is alive, and publishes the status line.
///
/// `run()` loops until its task is cancelled:
/// - every half watchdog interval it sends `WATCHDOG=1`, unless a heartbeat is older than the stale threshold
///   (default: the watchdog interval), so a hung actor makes systemd restart the service;
/// - every `statusInterval` it sends `STATUS=<status()>`;
/// - it logs a hung actor once by name, and its recovery once.
/// Without a watchdog (`watchdogInterval == nil`) it still checks for hung actors when `staleAfter` is set.
public struct WatchdogSupervisor: Sendable {
    public let heartbeats: Heartbeats
    public let watchdogInterval: Duration?
    public let staleAfter: Duration?
    public let statusInterval: Duration
    private let status: @Sendable () -> String
    private let logger: Logger
    private let send: @Sendable ([SystemdNotifyState]) -> Void

    /// - Parameters:
    ///   - watchdogInterval: usually `SystemdWatchdog.interval()`; nil when the watchdog is off.
    ///   - staleAfter: heartbeat age that counts as hung; nil means the watchdog interval.
    ///   - notify: where notifications go; `SystemdNotifier.notify` unless a test captures them.
    public init(
        heartbeats: Heartbeats,
        watchdogInterval: Duration?,
        staleAfter: Duration?,
        statusInterval: Duration = .seconds(5),
        status: @escaping @Sendable () -> String,
        logger: Logger,
        notify: @escaping @Sendable ([SystemdNotifyState]) -> Void = { SystemdNotifier.notify($0) }
    ) {
        self.heartbeats = heartbeats
        self.watchdogInterval = watchdogInterval
        self.staleAfter = staleAfter
        self.statusInterval = statusInterval
        self.status = status
        self.logger = logger
        self.send = notify
    }

    /// Runs until the surrounding task is cancelled. Time is the heartbeats' clock.
    public func run() async {
        let clock = heartbeats.clock
        let threshold = WatchdogDecision.threshold(watchdogInterval: watchdogInterval, staleAfter: staleAfter)
        var decision = threshold.map { WatchdogDecision(staleAfter: $0) }
        // Hang checks run at the ping cadence with a watchdog; without one, at the status cadence.
        let checkInterval = watchdogInterval.map(SystemdWatchdog.pingInterval(for:)) ?? statusInterval
        let start = clock.now
        var nextCheck = start
        var nextStatus = start

        while !Task.isCancelled {
            let now = clock.now
            if now >= nextCheck {
                tick(decision: &decision, now: now)
                nextCheck = Self.advance(nextCheck, by: checkInterval, past: now)
            }
            if now >= nextStatus {
                send([.status(status())])
                nextStatus = Self.advance(nextStatus, by: statusInterval, past: now)
            }
            do {
                try await Task.sleep(until: min(nextCheck, nextStatus), clock: clock)
            } catch {
                return
            }
        }
    }

    private func tick(decision: inout WatchdogDecision?, now: PipelineClock.Instant) {
        guard var current = decision else {
            if watchdogInterval != nil { send([.watchdog]) }
            return
        }
        let action = current.evaluate(ages: heartbeats.ages(now: now))
        decision = current
        for name in action.newlyHung {
            logger.error(
                "actor '\(name)' stopped beating; withholding watchdog pings so systemd restarts the service",
                metadata: ["pinpipe.actor": "\(name)", "pinpipe.stale_after": "\(current.staleAfter)"])
        }
        for name in action.recovered {
            logger.warning("actor '\(name)' is beating again", metadata: ["pinpipe.actor": "\(name)"])
        }
        if action.ping, watchdogInterval != nil { send([.watchdog]) }
    }

    /// The next deadline on a fixed grid, skipping missed slots instead of bursting to catch up.
    static func advance(
        _ deadline: PipelineClock.Instant, by interval: Duration, past now: PipelineClock.Instant
    ) -> PipelineClock.Instant {
        var next = deadline + interval
        if next <= now {
            let missed = (now - deadline) / interval
            next = deadline + interval * (Int(missed.rounded(.down)) + 1)
        }
        return next
    }
}
