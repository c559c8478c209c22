import Foundation
import Logging
import Postgres
import Synchronization
import TestSupport

/// The stack's PostgreSQL, as the tests reach it.
enum PostgresTestDatabase {
    static let logger = Logger(label: "pinpipe.postgres.tests")

    /// Connection parameters from the stack's env file (the stack is brought up on first use).
    static func parameters(timeZone: String? = nil) throws -> PostgresConnectionParameters {
        let env = try TestStack.environment()
        func value(_ key: String) throws -> String {
            guard let value = env[key] else { throw TestStackError(message: "stack.env has no \(key)") }
            return value
        }
        guard let port = Int(try value("PINPIPE_PG_PORT")) else {
            throw TestStackError(message: "PINPIPE_PG_PORT is not a number")
        }
        return PostgresConnectionParameters(
            host: try value("PINPIPE_PG_HOST"), port: port, user: try value("PINPIPE_PG_USER"),
            password: try value("PINPIPE_PG_PASSWORD"), database: try value("PINPIPE_PG_DATABASE"),
            sslMode: "disable", timeZone: timeZone)
    }

    static func connect(timeZone: String? = nil) async throws -> PostgresConnection {
        try await PostgresConnection.connect(try parameters(timeZone: timeZone), logger: logger)
    }

    /// A table name unique to this run (TestStack's names contain `-`, which SQL identifiers do not like).
    static func tableName(_ base: String) -> String {
        TestStack.uniqueName(base).replacingOccurrences(of: "-", with: "_")
    }
}

/// A log handler that keeps the messages, to count retries.
struct CapturingLogHandler: LogHandler {
    final class Store: Sendable {
        let entries = Mutex<[(level: Logger.Level, message: String)]>([])
        func count(_ level: Logger.Level) -> Int { entries.withLock { $0.filter { $0.level == level }.count } }
        var messages: [String] { entries.withLock { $0.map(\.message) } }
    }

    let store: Store
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var text = event.message.description
        if let metadata = event.metadata, !metadata.isEmpty {
            text += " " + metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
        store.entries.withLock { $0.append((event.level, text)) }
    }

    static func logger() -> (Logger, Store) {
        let store = Store()
        return (Logger(label: "capture") { _ in CapturingLogHandler(store: store) }, store)
    }
}
