/// Decides, on each watchdog tick, whether to ping systemd and which hung actors to report.
///
/// A pure state machine: it takes heartbeat ages and remembers only which actors it already reported, so a
/// hung actor is logged once (and its recovery once), not on every tick.
public struct WatchdogDecision: Sendable, Equatable {
    /// What the supervisor should do for one tick.
    public struct Action: Sendable, Equatable {
        /// Send `WATCHDOG=1`: true only when no actor is stale.
        public var ping: Bool
        /// Actors that just became stale (log each once, at error level).
        public var newlyHung: [String]
        /// Actors reported hung before that beat again (or left).
        public var recovered: [String]
        /// Every actor stale right now, sorted.
        public var hung: [String]

        public init(ping: Bool, newlyHung: [String] = [], recovered: [String] = [], hung: [String] = []) {
            self.ping = ping
            self.newlyHung = newlyHung
            self.recovered = recovered
            self.hung = hung
        }
    }

    /// A heartbeat older than this means the actor hangs.
    public let staleAfter: Duration
    /// Actors already reported as hung.
    public private(set) var reported: Set<String> = []

    public init(staleAfter: Duration) {
        self.staleAfter = staleAfter
    }

    /// The stale threshold to use: the explicit one, else the watchdog interval, else nil (no hang detection).
    public static func threshold(watchdogInterval: Duration?, staleAfter: Duration?) -> Duration? {
        staleAfter ?? watchdogInterval
    }

    /// Evaluates one tick from the age of each registered heartbeat.
    public mutating func evaluate(ages: [String: Duration]) -> Action {
        let hung = ages.filter { $0.value > staleAfter }.map(\.key).sorted()
        let hungSet = Set(hung)
        let newlyHung = hung.filter { !reported.contains($0) }
        let recovered = reported.subtracting(hungSet).sorted()
        reported = hungSet
        return Action(ping: hung.isEmpty, newlyHung: newlyHung, recovered: recovered, hung: hung)
    }
}
