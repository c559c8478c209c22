import Logging
import Testing
@testable import Systemd

@Suite struct SyslogPriorityTests {
    @Test(arguments: [
        (Logger.Level.trace, 7), (.debug, 7), (.info, 6), (.notice, 5), (.warning, 4), (.error, 3), (.critical, 2),
    ])
    func mapsLevels(level: Logger.Level, expected: Int) {
        #expect(SyslogPriority(level).rawValue == expected)
    }

    @Test func priorityFieldFollowsLevel() {
        let record = LogRecord(level: .error, message: "m", label: "l")
        let fields = JournalLogHandler.fields(for: record, identifier: "id")
        #expect(fields.first { $0.name == "PRIORITY" }?.value == "3")
    }

    @Test func dynamicLevelIsSharedAndChangeable() {
        let level = DynamicLogLevel(.info)
        let handler = ConsoleLogHandler(label: "x", level: level, output: { _ in })
        var overridden = ConsoleLogHandler(label: "y", level: level, output: { _ in })
        overridden.logLevel = .error
        #expect(handler.logLevel == .info)
        level.level = .debug
        #expect(handler.logLevel == .debug)
        #expect(overridden.logLevel == .error)
        for candidate in Logger.Level.allCases {
            level.level = candidate
            #expect(level.level == candidate)
        }
    }
}
