import Foundation

extension PinpipeConfiguration {
    /// The effective configuration as YAML, every default filled in and every secret masked.
    public func renderEffective() -> String {
        var out: [String] = []
        func line(_ indent: Int, _ key: String, _ value: String? = nil) {
            let pad = String(repeating: "  ", count: indent)
            out.append(value.map { "\(pad)\(key): \($0)" } ?? "\(pad)\(key):")
        }
        func quote(_ text: String) -> String {
            "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        func map(_ indent: Int, _ key: String, _ values: [String: String]) {
            if values.isEmpty { line(indent, key, "{}"); return }
            line(indent, key)
            for (name, value) in SecretMasking.masked(values).sorted(by: { $0.key < $1.key }) {
                line(indent + 1, name, quote(value))
            }
        }
        line(0, "roles", "[" + roles.sorted().map(\.rawValue).joined(separator: ", ") + "]")
        line(0, "state_directory", quote(stateDirectory))
        line(0, "logging")
        line(1, "level", logging.level.rawValue)
        line(1, "output", logging.output.rawValue)
        line(1, "rate_limit_window", ValueParsers.format(logging.rateLimitWindow))
        line(0, "health")
        line(1, "status_interval", ValueParsers.format(health.statusInterval))
        line(1, "stale_after", health.staleAfter.map(ValueParsers.format) ?? "null  # = the systemd watchdog interval")
        line(0, "metrics")
        line(1, "listen", metrics.listen.map { quote($0.description) } ?? "null  # off")
        line(0, "source")
        line(1, "mode", source.mode.rawValue)
        line(1, "credentials_file", source.credentialsFile.map(quote) ?? "null  # = $CREDENTIALS_DIRECTORY/db_creds.yaml")
        line(1, "sslmode", source.sslMode.rawValue)
        line(1, "sslrootcert", source.sslRootCert.map(quote) ?? "null")
        line(1, "connect_timeout", ValueParsers.format(source.connectTimeout))
        line(1, "time_zone", source.timeZone.map(quote) ?? "null")
        line(1, "fetch_size", "\(source.fetchSize)")
        line(1, "poll_interval", ValueParsers.format(source.pollInterval))
        line(1, "exit_when_done", "\(source.exitWhenDone)")
        line(1, "table_header", "\(source.tableHeader)")
        line(1, "tables")
        for table in source.tables {
            line(2, table.name, "{table: \(quote(table.table)), key: \(quote(table.keyColumn))}")
        }
        line(1, "emulate")
        line(2, "seed", source.emulate.seed.map { "\($0)" } ?? "null")
        line(2, "max_key", "\(source.emulate.maxKey)")
        line(2, "rate", source.emulate.rate.map { "\($0)" } ?? "null  # 0-1 s sleeps like the original")
        line(2, "limit", source.emulate.limit.map { "\($0)" } ?? "null")
        line(1, "cdc")
        line(2, "slot", source.cdc.slot.map(quote) ?? "null  # = \(ChangeCaptureSettings.defaultName(topicPrefix: kafka.topicPrefix))")
        line(2, "publication", source.cdc.publication.map(quote) ?? "null  # = the slot's name")
        line(2, "lag_warning_bytes", "\(source.cdc.lagWarningBytes)")
        line(1, "reconnect")
        line(2, "initial_delay", ValueParsers.format(source.reconnect.initialDelay))
        line(2, "max_delay", ValueParsers.format(source.reconnect.maxDelay))
        line(2, "startup_attempts", "\(source.reconnect.startupAttempts)")
        line(0, "kafka")
        line(1, "bootstrap_servers", quote(kafka.bootstrapServers))
        line(1, "topic_prefix", quote(kafka.topicPrefix))
        line(1, "create_topics", "\(kafka.createTopics)")
        line(1, "partitions", "\(kafka.partitions)")
        line(1, "replication_factor", "\(kafka.replicationFactor)")
        line(1, "max_in_flight", "\(kafka.maxInFlight)")
        line(1, "group_id", quote(kafka.groupID))
        line(1, "on_data_loss", kafka.onDataLoss.rawValue)
        line(1, "join_timeout", ValueParsers.format(kafka.joinTimeout))
        line(1, "exactly_once", "\(kafka.exactlyOnce)")
        line(1, "transaction")
        line(2, "max_records", "\(kafka.transaction.maxRecords)")
        line(2, "max_interval", ValueParsers.format(kafka.transaction.maxInterval))
        line(1, "transactional_id", kafka.transactionalID.map(quote) ?? "null  # = \(quote(kafka.effectiveTransactionalID))")
        line(1, "auth")
        line(2, "mechanism", kafka.auth.mechanism.rawValue)
        switch kafka.auth.mechanism {
        case .awsMSKIAM:
            line(2, "region", kafka.auth.region.map(quote) ?? "null")
            line(2, "profile", kafka.auth.profile.map(quote) ?? "null")
            line(2, "instance_metadata_endpoint", kafka.auth.instanceMetadataEndpoint.map(quote) ?? "null")
            if let credentials = kafka.auth.staticCredentials {
                line(2, "credentials")
                line(3, "access_key_id", quote(credentials.accessKeyID))
                line(3, "secret_access_key", quote(SecretMasking.mask))
                line(3, "session_token", credentials.sessionToken == nil ? "null" : quote(SecretMasking.mask))
            } else {
                line(2, "credentials", "null  # AWS default chain: environment, shared files, instance profile")
            }
        case .scramSHA512, .scramSHA256, .plain:
            line(2, "username", kafka.auth.username.map(quote) ?? "null")
            line(2, "password_file", kafka.auth.passwordFile.map(quote) ?? "null  # = $CREDENTIALS_DIRECTORY/kafka_password")
        case .none:
            break
        }
        line(1, "tls")
        line(2, "enabled", "\(kafka.tls.enabled)")
        if kafka.tls.enabled {
            line(2, "ca_file", kafka.tls.caFile.map(quote) ?? "null  # the system's trust store")
            line(2, "cert_file", kafka.tls.certFile.map(quote) ?? "null")
            line(2, "key_file", kafka.tls.keyFile.map(quote) ?? "null")
        }
        map(1, "properties", kafka.properties)
        map(1, "producer_properties", kafka.producerProperties)
        map(1, "consumer_properties", kafka.consumerProperties)
        line(0, "s3")
        line(1, "bucket", quote(s3.bucket))
        line(1, "region", quote(s3.region))
        line(1, "endpoint", s3.endpoint.map(quote) ?? "null  # AWS")
        line(1, "path_style", "\(s3.pathStyle)")
        line(1, "prefix", quote(s3.prefix))
        line(1, "profile", s3.profile.map(quote) ?? "null")
        line(1, "instance_metadata_endpoint", s3.instanceMetadataEndpoint.map(quote) ?? "null")
        if let credentials = s3.staticCredentials {
            line(1, "credentials")
            line(2, "access_key_id", quote(credentials.accessKeyID))
            line(2, "secret_access_key", quote(SecretMasking.mask))
            line(2, "session_token", credentials.sessionToken == nil ? "null" : quote(SecretMasking.mask))
        } else {
            line(1, "credentials", "null  # AWS default chain: environment, shared files, instance profile")
        }
        line(1, "batch")
        line(2, "max_records", "\(s3.batch.maxRecords)")
        line(2, "max_bytes", ValueParsers.formatSize(s3.batch.maxBytes))
        line(2, "max_age", ValueParsers.format(s3.batch.maxAge))
        line(1, "multipart_threshold", ValueParsers.formatSize(s3.multipartThreshold))
        line(1, "part_size", ValueParsers.formatSize(s3.partSize))
        line(1, "gzip", "\(s3.gzip)")
        line(1, "time_partitioning", s3.timePartitioning.map(quote) ?? "null")
        line(1, "channel_capacity", "\(s3.channelCapacity)")
        line(1, "checksum", s3.checksum.rawValue)
        line(1, "memory_limit", ValueParsers.formatSize(s3.memoryLimit))
        line(1, "request_attempts", "\(s3.requestAttempts)")
        line(1, "dead_letter")
        switch s3.deadLetter {
        case .s3Prefix(let prefix): line(2, "s3_prefix", quote(prefix))
        case .kafkaTopic(let topic): line(2, "kafka_topic", quote(topic))
        }
        line(0, "rest")
        line(1, "listen", quote(rest.listen.description))
        line(1, "topics", "[" + rest.topics.map(quote).joined(separator: ", ") + "]  # besides "
            + topics.joined(separator: ", "))
        line(1, "max_body_bytes", ValueParsers.formatSize(rest.maxBodyBytes))
        line(1, "max_records", "\(rest.maxRecords)")
        line(1, "max_record_bytes", ValueParsers.formatSize(rest.maxRecordBytes))
        line(1, "max_in_flight", "\(rest.maxInFlight)")
        line(1, "queue_timeout", ValueParsers.format(rest.queueTimeout))
        line(1, "produce_timeout", ValueParsers.format(rest.produceTimeout))
        line(1, "max_connections", "\(rest.maxConnections)")
        line(1, "idle_timeout", ValueParsers.format(rest.idleTimeout))
        line(1, "request_timeout", ValueParsers.format(rest.requestTimeout))
        line(1, "authentication", rest.authentication.rawValue)
        line(1, "credentials_file",
             rest.credentialsFile.map(quote) ?? "null  # = $CREDENTIALS_DIRECTORY/rest_users.yaml")
        return out.joined(separator: "\n") + "\n"
    }
}

