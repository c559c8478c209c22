/// The whole, validated configuration of one pinpipe process (`/etc/pinpipe/pinpipe.yaml`).
public struct PinpipeConfiguration: Sendable, Equatable {
    /// Which actors this host runs: `produce` (PostgreSQL → Kafka), `sink` (Kafka → S3), or both.
    public enum Role: String, Sendable, CaseIterable, Comparable {
        case produce
        case sink

        public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// The file the configuration was read from.
    public var file: String
    public var roles: Set<Role>
    /// Checkpoints and other state live here (systemd `StateDirectory=`).
    public var stateDirectory: String
    public var logging: LoggingConfiguration
    public var health: HealthConfiguration
    public var metrics: MetricsConfiguration
    public var source: SourceConfiguration
    public var kafka: KafkaSettings
    public var s3: S3SinkSettings

    public init(file: String = "<defaults>", roles: Set<Role> = [.produce, .sink],
                stateDirectory: String = "/var/lib/pinpipe", logging: LoggingConfiguration = .init(),
                health: HealthConfiguration = .init(), metrics: MetricsConfiguration = .init(), source: SourceConfiguration = .init(),
                kafka: KafkaSettings = .init(), s3: S3SinkSettings = .init()) {
        self.file = file
        self.roles = roles
        self.stateDirectory = stateDirectory
        self.logging = logging
        self.health = health
        self.metrics = metrics
        self.source = source
        self.kafka = kafka
        self.s3 = s3
    }

    /// The three topics, in table order (pin, geo, user).
    public var topics: [String] { source.tables.map { kafka.topic(for: $0) } }
}

public struct LoggingConfiguration: Sendable, Equatable {
    public enum Level: String, Sendable, CaseIterable {
        case trace, debug, info, notice, warning, error, critical
    }

    /// `auto` writes to the journal when stderr is connected to it, else to the console.
    public enum Output: String, Sendable, CaseIterable {
        case auto, journal, console
    }

    public var level: Level = .info
    public var output: Output = .auto
    /// Repeated identical warnings/errors within this window are summarised with a count.
    public var rateLimitWindow: Duration = .seconds(10)

    public init(level: Level = .info, output: Output = .auto, rateLimitWindow: Duration = .seconds(10)) {
        self.level = level
        self.output = output
        self.rateLimitWindow = rateLimitWindow
    }
}

public struct HealthConfiguration: Sendable, Equatable {
    /// How often STATUS= is sent to systemd (and logged at debug).
    public var statusInterval: Duration = .seconds(5)
    /// An actor whose loop has not beaten for this long counts as hung; nil = the watchdog interval.
    public var staleAfter: Duration?

    public init(statusInterval: Duration = .seconds(5), staleAfter: Duration? = nil) {
        self.statusInterval = statusInterval
        self.staleAfter = staleAfter
    }
}

extension PinpipeConfiguration {
    /// The replication slot change data capture uses.
    public var cdcSlot: String { source.cdc.slot ?? ChangeCaptureSettings.defaultName(topicPrefix: kafka.topicPrefix) }
    /// The publication change data capture streams.
    public var cdcPublication: String { source.cdc.publication ?? cdcSlot }
}
