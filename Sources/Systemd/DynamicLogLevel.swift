import Logging
import Synchronization

/// A log level shared by every handler of the process and changeable at run time (a SIGHUP reload sets it).
///
/// Handlers read it on each `logLevel` access, so a change applies at once to every logger that was not given
/// its own level.
public final class DynamicLogLevel: Sendable {
    private static let levels = Logger.Level.allCases
    private let ordinal: Atomic<Int>

    public init(_ level: Logger.Level = .info) {
        ordinal = Atomic(Self.levels.firstIndex(of: level) ?? 0)
    }

    public var level: Logger.Level {
        get { Self.levels[ordinal.load(ordering: .relaxed)] }
        set { ordinal.store(Self.levels.firstIndex(of: newValue) ?? 0, ordering: .relaxed) }
    }
}
