import CSystemd

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Talks to the service manager through sd_notify(3).
///
/// Every call is a no-op when the process does not run under systemd (`NOTIFY_SOCKET` unset), and nothing here
/// throws: a failed notification must never take the daemon down.
///
/// - Important: `sd_notify` sends one datagram to a local unix socket and returns; it does not wait for systemd.
///   It is cheap enough to call from an async context (it could only block if systemd's receive queue were
///   full, which the manager drains continuously).
public enum SystemdNotifier {
    /// True when `NOTIFY_SOCKET` is set, i.e. systemd (or a test) listens for notifications.
    public static var isEnabled: Bool {
        guard let value = getenv("NOTIFY_SOCKET") else { return false }
        return value.pointee != 0
    }

    /// Sends the states in one datagram. Returns whether a message was delivered (false when disabled or failed).
    @discardableResult
    public static func notify(_ states: [SystemdNotifyState]) -> Bool {
        guard !states.isEmpty, isEnabled else { return false }
        let message = SystemdNotifyState.message(states)
        // unset_environment = 0: WATCHDOG=1 and friends are sent many times over the process's life.
        return sd_notify(0, message) > 0
    }

    /// Convenience for a single state.
    @discardableResult
    public static func notify(_ state: SystemdNotifyState) -> Bool {
        notify([state])
    }
}
