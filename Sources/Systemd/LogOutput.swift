/// Where the process writes its logs.
public enum LogOutput: String, Sendable, CaseIterable {
    /// The journal when stderr is connected to journald (`JOURNAL_STREAM`), the console otherwise.
    case auto
    /// Native journal entries with structured fields (sd_journal_sendv).
    case journal
    /// Readable lines on stderr.
    case console
}
