import CSystemd

/// The service manager's watchdog settings for this process.
public enum SystemdWatchdog {
    /// The `WatchdogSec=` interval when the watchdog is on for this process, nil otherwise.
    ///
    /// Uses sd_watchdog_enabled(3), which reads `WATCHDOG_USEC` and checks `WATCHDOG_PID` against our PID, so a
    /// child that inherited the environment does not believe it is supervised.
    public static func interval() -> Duration? {
        var usec: UInt64 = 0
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return .microseconds(Int64(clamping: usec))
    }

    /// How often to ping for a given watchdog interval: half of it, as sd_watchdog_enabled(3) recommends.
    public static func pingInterval(for watchdog: Duration) -> Duration {
        watchdog / 2
    }
}
