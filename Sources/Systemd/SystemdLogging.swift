import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Chooses and builds the process's log handlers.
public enum SystemdLogging {
    /// Whether stderr is the journal stream systemd set up for the service: `JOURNAL_STREAM` holds
    /// `<device>:<inode>` of that stream, which must match fstat(2) of fd 2 (a redirected stderr differs).
    public static func isStderrConnectedToJournal(
        environment: [String: String] = ProcessInfoEnvironment.current()
    ) -> Bool {
        guard let value = environment["JOURNAL_STREAM"] else { return false }
        let parts = value.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var info = stat()
        guard fstat(2, &info) == 0 else { return false }
        return UInt64(info.st_dev) == device && UInt64(info.st_ino) == inode
    }

    /// Resolves `.auto` to the journal or the console.
    public static func resolve(
        _ output: LogOutput, environment: [String: String] = ProcessInfoEnvironment.current()
    ) -> LogOutput {
        switch output {
        case .auto: return isStderrConnectedToJournal(environment: environment) ? .journal : .console
        case .journal, .console: return output
        }
    }

    /// A factory for `LoggingSystem.bootstrap`: every logger shares `level` and one rate limiter.
    public static func makeHandlerFactory(
        output: LogOutput, identifier: String, level: DynamicLogLevel,
        rateLimiter: SharedLogRateLimiter = SharedLogRateLimiter()
    ) -> @Sendable (String) -> any LogHandler {
        switch resolve(output) {
        case .journal:
            return { label in
                JournalLogHandler(label: label, identifier: identifier, level: level, rateLimiter: rateLimiter)
            }
        case .console, .auto:
            return { label in ConsoleLogHandler(label: label, level: level, rateLimiter: rateLimiter) }
        }
    }
}
