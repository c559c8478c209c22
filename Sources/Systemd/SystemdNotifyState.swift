#if canImport(Glibc)
import Glibc
#endif

/// One assignment of the sd_notify(3) protocol.
///
/// Each case renders to one `KEY=VALUE` line of the datagram that systemd reads from `NOTIFY_SOCKET`.
public enum SystemdNotifyState: Sendable, Equatable {
    /// `READY=1`: start-up finished; `systemctl start` returns for a `Type=notify` unit.
    case ready
    /// `STOPPING=1`: the service began its graceful shutdown.
    case stopping
    /// `RELOADING=1`: the service is reloading its configuration (send `.ready` when done).
    case reloading
    /// `WATCHDOG=1`: keep-alive ping for `WatchdogSec=`.
    case watchdog
    /// `STATUS=…`: free-form one-line status shown by `systemctl status`.
    case status(String)
    /// `EXTEND_TIMEOUT_USEC=…`: ask for more time to start up or stop, counted from now.
    case extendTimeout(Duration)
    /// `MAINPID=…`: the main process is another one.
    case mainPID(Int32)
    /// `ERRNO=…`: the reason of a failure, as an errno number.
    case errno(Int32)
    /// `WATCHDOG=trigger`: make systemd act as if the watchdog timer expired.
    case watchdogTrigger
    /// `MONOTONIC_USEC=…`: CLOCK_MONOTONIC when a reload began (sent with `.reloading`).
    case monotonicNow

    /// The protocol line, without a trailing newline.
    ///
    /// - Important: The protocol is line based, so any newline in a status text is replaced by a space; a
    ///   multi-line status would otherwise inject further assignments.
    public var assignment: String {
        switch self {
        case .ready: return "READY=1"
        case .stopping: return "STOPPING=1"
        case .reloading: return "RELOADING=1"
        case .watchdog: return "WATCHDOG=1"
        case .watchdogTrigger: return "WATCHDOG=trigger"
        case .status(let text):
            let oneLine = String(text.map { $0.isNewline ? " " : $0 })
            return "STATUS=\(oneLine)"
        case .extendTimeout(let duration):
            return "EXTEND_TIMEOUT_USEC=\(Self.microseconds(duration))"
        case .mainPID(let pid): return "MAINPID=\(pid)"
        case .errno(let code): return "ERRNO=\(code)"
        case .monotonicNow:
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            return "MONOTONIC_USEC=\(UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000)"
        }
    }

    /// Whole microseconds of a non-negative duration (negative durations count as zero).
    static func microseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        if seconds < 0 { return 0 }
        return UInt64(seconds) &* 1_000_000 &+ UInt64(attoseconds / 1_000_000_000_000)
    }

    /// The datagram for several assignments: one per line.
    public static func message(_ states: [SystemdNotifyState]) -> String {
        states.map(\.assignment).joined(separator: "\n")
    }
}
