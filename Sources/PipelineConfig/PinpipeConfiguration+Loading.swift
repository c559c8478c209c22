import YAML

extension PinpipeConfiguration {
    /// Reads and validates a configuration file.
    ///
    /// Every error names the file, line, column and key path of the problem.
    public static func load(file path: String) throws(ConfigError) -> PinpipeConfiguration {
        let root: YAMLNode?
        do {
            root = try YAMLParser.parse(file: path)
        } catch {
            throw ConfigError(error)
        }
        return try decode(root, file: path)
    }

    /// Validates an already parsed document (`file` names it in errors).
    public static func load(yaml text: String, file: String) throws(ConfigError) -> PinpipeConfiguration {
        let root: YAMLNode?
        do {
            root = try YAMLParser.parse(string: text, fileName: file)
        } catch {
            throw ConfigError(error)
        }
        return try decode(root, file: file)
    }

    static func decode(_ root: YAMLNode?, file: String) throws(ConfigError) -> PinpipeConfiguration {
        var reader = try ConfigReader(node: root, file: file, path: "")
        var config = PinpipeConfiguration(file: file)

        if let roles = try reader.stringList("roles") {
            var parsed: Set<Role> = []
            for role in roles {
                guard let value = Role(rawValue: role) else {
                    throw reader.error(.invalidValue, "roles", at: reader.node("roles"),
                                       "\"\(role)\" is not a role (use produce, sink, rest)")
                }
                parsed.insert(value)
            }
            if parsed.isEmpty {
                throw reader.error(.invalidValue, "roles", at: reader.node("roles"), "at least one role is needed")
            }
            config.roles = parsed
        }
        config.stateDirectory = try reader.string("state_directory", default: config.stateDirectory)

        var logging = try reader.section("logging")
        config.logging.level = try logging.choice("level", default: config.logging.level)
        config.logging.output = try logging.choice("output", default: config.logging.output)
        config.logging.rateLimitWindow = try logging.duration("rate_limit_window", default: config.logging.rateLimitWindow)
        try logging.finish()

        var health = try reader.section("health")
        config.health.statusInterval = try health.duration("status_interval", default: config.health.statusInterval,
                                                           minimum: .milliseconds(100))
        config.health.staleAfter = try health.duration("stale_after")
        try health.finish()

        var metrics = try reader.section("metrics")
        if metrics.has("listen") {
            if let text = try metrics.string("listen") {
                guard let address = MetricsConfiguration.Address(parsing: text) else {
                    throw metrics.error(.invalidValue, "listen", at: metrics.node("listen"),
                                        "\"\(text)\" is not host:port (for example 127.0.0.1:9464 or [::1]:9464; null turns the endpoint off)")
                }
                config.metrics.listen = address
            } else {
                config.metrics.listen = nil
            }
        }
        try metrics.finish()

        var source = try reader.section("source")
        config.source = try decodeSource(&source)
        try source.finish()

        var kafka = try reader.section("kafka")
        config.kafka = try decodeKafka(&kafka)
        try kafka.finish()

        var s3 = try reader.section("s3")
        config.s3 = try decodeS3(&s3, required: config.roles.contains(.sink))
        try s3.finish()

        var rest = try reader.section("rest")
        config.rest = try decodeRest(&rest)
        try rest.finish()

        try reader.finish()
        return config
    }

    private static func decodeSource(_ reader: inout ConfigReader) throws(ConfigError) -> SourceConfiguration {
        var source = SourceConfiguration()
        source.mode = try reader.choice("mode", default: source.mode)
        source.credentialsFile = try reader.string("credentials_file")
        source.sslMode = try reader.choice("sslmode", default: source.sslMode)
        source.sslRootCert = try reader.string("sslrootcert")
        if source.sslMode == .verifyCA || source.sslMode == .verifyFull, source.sslRootCert == nil {
            throw reader.error(.missingValue, "sslrootcert", at: reader.node("sslmode"),
                               "sslmode \(source.sslMode.rawValue) needs sslrootcert (the CA file that signed the server)")
        }
        source.connectTimeout = try reader.duration("connect_timeout", default: source.connectTimeout, minimum: .seconds(1))
        source.timeZone = try reader.string("time_zone")
        source.fetchSize = try reader.int("fetch_size", default: source.fetchSize, range: 1...1_000_000)
        source.pollInterval = try reader.duration("poll_interval", default: source.pollInterval, minimum: .milliseconds(10))
        source.exitWhenDone = try reader.bool("exit_when_done", default: source.exitWhenDone)
        source.tableHeader = try reader.bool("table_header", default: source.tableHeader)

        var tables = try reader.section("tables")
        source.tables = try TableSource.defaults.map { (table: TableSource) throws(ConfigError) -> TableSource in
            var section = try tables.section(table.name)
            var result = table
            result.table = try section.string("table", default: table.table)
            result.keyColumn = try section.string("key", default: table.keyColumn)
            try section.finish()
            return result
        }
        try tables.finish()

        var emulate = try reader.section("emulate")
        if emulate.has("seed") {
            source.emulate.seed = try emulate.optionalInt("seed", range: 0...Int(UInt32.max)).map { UInt32($0) }
        }
        source.emulate.maxKey = try emulate.int("max_key", default: source.emulate.maxKey, range: 0...Int(Int32.max))
        if let rate = try emulate.double("rate") {
            guard rate > 0 else {
                throw emulate.error(.invalidValue, "rate", at: emulate.node("rate"), "must be greater than 0 events per second")
            }
            source.emulate.rate = rate
        }
        source.emulate.limit = try emulate.optionalInt("limit", range: 1...Int.max)
        try emulate.finish()

        var cdc = try reader.section("cdc")
        for key in ["slot", "publication"] {
            guard let name = try cdc.string(key) else { continue }
            guard ChangeCaptureSettings.isValidName(name) else {
                throw cdc.error(.invalidValue, key, at: cdc.node(key),
                               "'\(name)' is not a valid name: use lower-case letters, digits and _ (at most 63 characters)")
            }
            if key == "slot" { source.cdc.slot = name } else { source.cdc.publication = name }
        }
        source.cdc.lagWarningBytes = try cdc.int("lag_warning_bytes", default: source.cdc.lagWarningBytes, range: 1...Int.max)
        try cdc.finish()

        var reconnect = try reader.section("reconnect")
        source.reconnect.initialDelay = try reconnect.duration("initial_delay", default: source.reconnect.initialDelay,
                                                               minimum: .milliseconds(10))
        source.reconnect.maxDelay = try reconnect.duration("max_delay", default: source.reconnect.maxDelay,
                                                           minimum: source.reconnect.initialDelay)
        source.reconnect.startupAttempts = try reconnect.int("startup_attempts", default: source.reconnect.startupAttempts,
                                                             range: 1...1000)
        try reconnect.finish()
        return source
    }

    private static func decodeKafka(_ reader: inout ConfigReader) throws(ConfigError) -> KafkaSettings {
        var kafka = KafkaSettings()
        kafka.bootstrapServers = try reader.requiredString("bootstrap_servers", why: "host:port of at least one broker")
        kafka.topicPrefix = try reader.requiredString("topic_prefix", why: "topics are <topic_prefix>.pin, .geo and .user")
        kafka.createTopics = try reader.bool("create_topics", default: kafka.createTopics)
        kafka.partitions = try reader.int("partitions", default: kafka.partitions, range: 1...10_000)
        kafka.replicationFactor = try reader.int("replication_factor", default: kafka.replicationFactor, range: 1...32)
        kafka.maxInFlight = try reader.int("max_in_flight", default: kafka.maxInFlight, range: 1...10_000_000)
        kafka.groupID = try reader.string("group_id", default: kafka.groupID)
        kafka.exactlyOnce = try reader.bool("exactly_once", default: kafka.exactlyOnce)
        var transaction = try reader.section("transaction")
        kafka.transaction.maxRecords = try transaction.int("max_records", default: kafka.transaction.maxRecords,
                                                          range: 1...10_000_000)
        kafka.transaction.maxInterval = try transaction.duration("max_interval", default: kafka.transaction.maxInterval,
                                                                minimum: .milliseconds(10))
        // librdkafka aborts a transaction open longer than transaction.timeout.ms (60 s by default).
        if kafka.transaction.maxInterval > .seconds(50) {
            throw transaction.error(.invalidValue, "max_interval", at: transaction.node("max_interval"),
                                    "must be at most 50s (librdkafka's transaction.timeout.ms is 60s), got "
                                        + ValueParsers.format(kafka.transaction.maxInterval))
        }
        try transaction.finish()
        if let id = try reader.string("transactional_id") {
            if id.isEmpty || id.contains(where: { $0.isWhitespace }) {
                throw reader.error(.invalidValue, "transactional_id", at: reader.node("transactional_id"),
                                   "must be a non-empty name without spaces (null = pinpipe-<topic_prefix>)")
            }
            kafka.transactionalID = id
        }
        kafka.properties = try reader.stringMap("properties")
        kafka.producerProperties = try reader.stringMap("producer_properties")
        kafka.consumerProperties = try reader.stringMap("consumer_properties")
        let onDataLoss = try reader.string("on_data_loss", default: kafka.onDataLoss.rawValue)
        guard let policy = DataLossPolicy(rawValue: onDataLoss) else {
            throw reader.error(.invalidValue, "on_data_loss", at: reader.node("on_data_loss"),
                               "\"\(onDataLoss)\" is not one of \(DataLossPolicy.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        kafka.onDataLoss = policy
        kafka.joinTimeout = try reader.duration("join_timeout", default: kafka.joinTimeout, minimum: .seconds(5))
        var auth = try reader.section("auth")
        kafka.auth = try decodeKafkaAuth(&auth)
        try auth.finish()
        var tls = try reader.section("tls")
        kafka.tls.caFile = try tls.string("ca_file")
        kafka.tls.certFile = try tls.string("cert_file")
        kafka.tls.keyFile = try tls.string("key_file")
        let namesAFile = kafka.tls.caFile != nil || kafka.tls.certFile != nil || kafka.tls.keyFile != nil
        kafka.tls.enabled = try tls.bool("enabled", default: kafka.auth.mechanism == .awsMSKIAM || namesAFile)
        if (kafka.tls.certFile == nil) != (kafka.tls.keyFile == nil) {
            let missing = kafka.tls.certFile == nil ? "cert_file" : "key_file"
            throw tls.error(.missingValue, missing, at: tls.node(kafka.tls.certFile == nil ? "key_file" : "cert_file"),
                            "a client certificate needs both cert_file and key_file")
        }
        if !kafka.tls.enabled, namesAFile {
            throw tls.error(.invalidValue, "enabled", at: tls.node("enabled"),
                            "TLS files are named but enabled is false (remove the files or the enabled: false)")
        }
        try tls.finish()
        if kafka.auth.mechanism != .none || kafka.tls.enabled {
            // One place decides the connection's security: kafka.auth/kafka.tls, or hand-written properties.
            for section in ["properties", "producer_properties", "consumer_properties"] {
                let map = section == "properties" ? kafka.properties
                    : section == "producer_properties" ? kafka.producerProperties : kafka.consumerProperties
                if let managed = map.keys.sorted().first(where: KafkaSettings.isSecurityProperty) {
                    throw reader.error(.invalidValue, section, at: reader.node(section),
                                       "\(managed) is set by kafka.auth/kafka.tls; remove it from \(section)")
                }
            }
        }
        for (section, map) in [("properties", kafka.properties), ("consumer_properties", kafka.consumerProperties)] {
            // pinpipe decides what happens to a position that fell out of the log, and it reads only committed
            // transactions: a librdkafka default here would skip lost records silently or read aborted ones.
            for managed in ["auto.offset.reset", "isolation.level"] where map[managed] != nil {
                throw reader.error(.invalidValue, section, at: reader.node(section),
                                   "\(managed) is managed by pinpipe (a group without offsets starts at the log start; "
                                   + "lost records follow kafka.on_data_loss; only committed transactions are read)")
            }
        }
        return kafka
    }

    private static func decodeKafkaAuth(_ reader: inout ConfigReader) throws(ConfigError) -> KafkaAuthSettings {
        var auth = KafkaAuthSettings()
        auth.mechanism = try reader.choice("mechanism", default: auth.mechanism)
        let awsKeys = ["region", "profile", "instance_metadata_endpoint", "credentials"]
        let passwordKeys = ["username", "password_file"]
        if reader.has("password") {
            throw reader.error(.invalidValue, "password", at: reader.node("password"),
                               "the password never goes into the main configuration: put it in a file of its own "
                                   + "(mode 0600) and name it in password_file, or use LoadCredential=kafka_password:FILE")
        }
        switch auth.mechanism {
        case .awsMSKIAM:
            auth.region = try reader.requiredString("region", why: "the MSK cluster's AWS region, e.g. us-east-1")
            auth.profile = try reader.string("profile")
            auth.instanceMetadataEndpoint = try reader.string("instance_metadata_endpoint")
            var credentials = try reader.section("credentials")
            if credentials.has("access_key_id") || credentials.has("secret_access_key") {
                auth.staticCredentials = .init(
                    accessKeyID: try credentials.requiredString("access_key_id"),
                    secretAccessKey: try credentials.requiredString("secret_access_key"),
                    sessionToken: try credentials.string("session_token"))
            }
            _ = try credentials.string("session_token")
            try credentials.finish()
        case .scramSHA512, .scramSHA256, .plain:
            auth.username = try reader.requiredString("username", why: "the SASL user name")
            auth.passwordFile = try reader.string("password_file")
        case .none:
            break
        }
        let unused = auth.mechanism == .awsMSKIAM ? passwordKeys
            : auth.mechanism.usesPassword ? awsKeys : awsKeys + passwordKeys
        if let key = unused.first(where: { reader.has($0) }) {
            throw reader.error(.invalidValue, key, at: reader.node(key),
                               "does not apply to mechanism \(auth.mechanism.rawValue)")
        }
        return auth
    }

    private static func decodeS3(_ reader: inout ConfigReader, required: Bool) throws(ConfigError) -> S3SinkSettings {
        var s3 = S3SinkSettings()
        if required {
            s3.bucket = try reader.requiredString("bucket", why: "the sink role writes objects to this bucket")
        } else {
            s3.bucket = try reader.string("bucket", default: "")
        }
        s3.region = try reader.string("region", default: s3.region)
        s3.endpoint = try reader.string("endpoint")
        if let endpoint = s3.endpoint, !(endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://")) {
            throw reader.error(.invalidValue, "endpoint", at: reader.node("endpoint"),
                               "\"\(endpoint)\" must start with http:// or https://")
        }
        s3.pathStyle = try reader.bool("path_style", default: s3.pathStyle)
        s3.prefix = try reader.string("prefix", default: s3.prefix)
        s3.profile = try reader.string("profile")
        s3.instanceMetadataEndpoint = try reader.string("instance_metadata_endpoint")

        var credentials = try reader.section("credentials")
        if credentials.has("access_key_id") || credentials.has("secret_access_key") {
            s3.staticCredentials = .init(
                accessKeyID: try credentials.requiredString("access_key_id"),
                secretAccessKey: try credentials.requiredString("secret_access_key"),
                sessionToken: try credentials.string("session_token"))
        }
        _ = try credentials.string("session_token")
        try credentials.finish()

        var batch = try reader.section("batch")
        s3.batch.maxRecords = try batch.int("max_records", default: s3.batch.maxRecords, range: 1...10_000_000)
        s3.batch.maxBytes = try batch.byteSize("max_bytes", default: s3.batch.maxBytes, minimum: 1024)
        s3.batch.maxAge = try batch.duration("max_age", default: s3.batch.maxAge, minimum: .milliseconds(100))
        try batch.finish()

        s3.multipartThreshold = try reader.byteSize("multipart_threshold", default: s3.multipartThreshold, minimum: 5 << 20)
        s3.partSize = try reader.byteSize("part_size", default: s3.partSize, minimum: 5 << 20)
        s3.gzip = try reader.bool("gzip", default: s3.gzip)
        s3.timePartitioning = try reader.string("time_partitioning")
        s3.channelCapacity = try reader.int("channel_capacity", default: s3.channelCapacity, range: 1...10_000_000)
        s3.checksum = try reader.choice("checksum", default: s3.checksum)
        s3.memoryLimit = try reader.byteSize("memory_limit", default: s3.memoryLimit, minimum: 1 << 20)
        s3.requestAttempts = try reader.int("request_attempts", default: s3.requestAttempts, range: 1...100)

        var deadLetter = try reader.section("dead_letter")
        let s3Prefix = try deadLetter.string("s3_prefix")
        let kafkaTopic = try deadLetter.string("kafka_topic")
        switch (s3Prefix, kafkaTopic) {
        case (let prefix?, nil): s3.deadLetter = .s3Prefix(prefix)
        case (nil, let topic?): s3.deadLetter = .kafkaTopic(topic)
        case (nil, nil): break
        case (_?, _?):
            throw deadLetter.error(.invalidValue, "kafka_topic", at: deadLetter.node("kafka_topic"),
                                   "set either s3_prefix or kafka_topic, not both")
        }
        try deadLetter.finish()
        return s3
    }

    private static func decodeRest(_ reader: inout ConfigReader) throws(ConfigError) -> RestConfiguration {
        var rest = RestConfiguration()
        if let text = try reader.string("listen") {
            guard let address = MetricsConfiguration.Address(parsing: text) else {
                throw reader.error(.invalidValue, "listen", at: reader.node("listen"),
                                   "\"\(text)\" is not host:port (for example 127.0.0.1:8082 or [::1]:8082)")
            }
            rest.listen = address
        }
        if let topics = try reader.stringList("topics") {
            for topic in topics where !KafkaSettings.isValidTopicName(topic) {
                throw reader.error(.invalidValue, "topics", at: reader.node("topics"),
                                   "\"\(topic)\" is not a Kafka topic name (1-249 of a-z A-Z 0-9 . _ -)")
            }
            rest.topics = topics
        }
        rest.maxBodyBytes = try reader.byteSize("max_body_bytes", default: rest.maxBodyBytes, minimum: 1024)
        guard rest.maxBodyBytes <= 64 << 20 else {
            throw reader.error(.invalidValue, "max_body_bytes", at: reader.node("max_body_bytes"),
                               "must be at most 64MiB (each connection may hold one body)")
        }
        rest.maxRecords = try reader.int("max_records", default: rest.maxRecords, range: 1...100_000)
        rest.maxRecordBytes = try reader.byteSize("max_record_bytes", default: rest.maxRecordBytes, minimum: 1)
        rest.maxInFlight = try reader.int("max_in_flight", default: rest.maxInFlight, range: 1...10_000_000)
        guard rest.maxInFlight >= rest.maxRecords else {
            throw reader.error(.invalidValue, "max_in_flight", at: reader.node("max_in_flight"),
                               "must be at least max_records (\(rest.maxRecords)): one whole request must fit")
        }
        rest.queueTimeout = try reader.duration("queue_timeout", default: rest.queueTimeout, minimum: .milliseconds(1))
        rest.produceTimeout = try reader.duration("produce_timeout", default: rest.produceTimeout, minimum: .seconds(1))
        rest.maxConnections = try reader.int("max_connections", default: rest.maxConnections, range: 1...100_000)
        rest.idleTimeout = try reader.duration("idle_timeout", default: rest.idleTimeout, minimum: .milliseconds(100))
        rest.requestTimeout = try reader.duration("request_timeout", default: rest.requestTimeout,
                                                  minimum: .milliseconds(100))
        rest.authentication = try reader.choice("authentication", default: rest.authentication)
        rest.credentialsFile = try reader.string("credentials_file")
        return rest
    }
}
