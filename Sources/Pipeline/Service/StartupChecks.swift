import AsyncHTTPClient
import Foundation
import Kafka
import Logging
import PipelineConfig
import Postgres
import S3
import Support
import Systemd

/// Checks every dependency of the configured roles before READY=1, and opens the clients the actors use.
///
/// Each failure names what is wrong and where, and is not retried beyond the configured start-up attempts: a
/// wrong password, an unknown host or a missing table fails the start instead of starting a retry storm.
struct StartupChecks {
    let configuration: PinpipeConfiguration
    let environment: [String: String]
    let logger: Logger

    struct Dependencies {
        var kafka: KafkaAccess
        var producer: KafkaProducer?
        var deadLetterProducer: KafkaProducer?
        var database: PostgresConnectionParameters?
        var s3: S3Client?
        /// The `rest` role's own producer: idempotent, never transactional (see ``restProducer()``).
        var restProducer: KafkaProducer?
        var restUsers: RestUsers?
    }

    func run() async throws -> Dependencies {
        try KafkaLibrary.checkMinimumVersion()
        let access = try KafkaAccess.resolve(configuration.kafka, environment: environment, logger: logger)
        var dependencies = Dependencies(kafka: access)
        if configuration.roles.contains(.produce) {
            SystemdNotifier.notify([.status("starting: checking PostgreSQL")])
            dependencies.database = try await checkDatabase()
        }
        SystemdNotifier.notify([.status("starting: checking Kafka topics")])
        let kafka = configuration.kafka
        // Exactly-once: the source's producer is transactional (and only the source's: a dead-letter record
        // must not wait for, or be lost with, a source transaction).
        let transactional = kafka.exactlyOnce && configuration.roles.contains(.produce)
        var producerConfiguration = access.producerConfiguration(
            maxInFlight: kafka.maxInFlight, transactionalID: transactional ? kafka.effectiveTransactionalID : nil)
        producerConfiguration.captureAPIVersions = true
        let producer = try KafkaProducer(configuration: producerConfiguration, logger: logger.with(actor: "producer"))
        do {
            let cluster: KafkaClusterDescription
            do {
                cluster = try await producer.describeCluster(timeout: .seconds(30))
            } catch {
                var error: KafkaError = error
                if error.code == .authentication {
                    error.message += " (kafka.auth: \(access.mechanismSummary); check the user name and the password file"
                        + ", or the AWS credentials and region for aws_msk_iam)"
                }
                throw error
            }
            logger.notice("Kafka connected", metadata: [
                "kafka.library": "librdkafka \(KafkaLibrary.version)",
                "kafka.auth": "\(access.mechanismSummary)",
                "kafka.cluster_id": "\(cluster.clusterID ?? "not reported")",
                "kafka.controller": "\(cluster.controllerID.map(String.init) ?? "not reported")",
                "kafka.brokers": "\(cluster.brokers.map(\.description).joined(separator: ","))",
                "kafka.broker_version": "\(cluster.brokerVersionSummary)",
            ])
            try await producer.ensureTopics(configuration.topics, create: kafka.createTopics, partitions: kafka.partitions,
                                            replicationFactor: kafka.replicationFactor, timeout: .seconds(30))
            if transactional {
                // One partition holds every table's position; compaction keeps the latest per table.
                try await producer.ensureTopics([kafka.offsetsTopic], create: kafka.createTopics, partitions: 1,
                                                replicationFactor: kafka.replicationFactor,
                                                configs: ["cleanup.policy": "compact"], timeout: .seconds(30))
            }
        } catch {
            await producer.shutdown(timeout: .seconds(1))
            throw error
        }
        logger.info("Kafka topics present", metadata: [
            "topics": "\(configuration.topics + (transactional ? [kafka.offsetsTopic] : []))",
        ])
        if configuration.roles.contains(.produce) {
            dependencies.producer = producer
        } else if case .kafkaTopic = configuration.s3.deadLetter, configuration.roles.contains(.sink) {
            dependencies.producer = nil
            dependencies.deadLetterProducer = producer
        } else {
            await producer.shutdown(timeout: .seconds(1))
        }
        if case .kafkaTopic = configuration.s3.deadLetter, configuration.roles.contains(.sink),
           dependencies.deadLetterProducer == nil {
            dependencies.deadLetterProducer = transactional
                ? try KafkaProducer(
                    configuration: access.producerConfiguration(maxInFlight: kafka.maxInFlight),
                    logger: logger.with(actor: "dead-letter-producer"))
                : producer
        }
        if configuration.roles.contains(.sink) {
            SystemdNotifier.notify([.status("starting: checking the S3 bucket")])
            dependencies.s3 = try await checkBucket()
        }
        if configuration.roles.contains(.rest) {
            if configuration.rest.authentication == .basic {
                let path = try RestUsers.resolvePath(configured: configuration.rest.credentialsFile,
                                                     environment: environment)
                var warnings: [String] = []
                dependencies.restUsers = try RestUsers.load(file: path, warnings: &warnings)
                for warning in warnings { logger.warning("\(warning)") }
            }
            dependencies.restProducer = try restProducer()
        }
        return dependencies
    }

    /// The REST role's producer: idempotent with acks=all but not transactional, so a client's records are
    /// acknowledged on their own (a transaction would hold every reply until its commit). `message.timeout.ms`
    /// is `rest.produce_timeout`, and `linger.ms` is 1 ms: a reply waits for its acknowledgement, so batching
    /// delay is latency. `kafka.producer_properties` override both. The in-flight bound is the endpoint's
    /// (`rest.max_in_flight`), so this producer's own window never makes a request wait.
    func restProducer() throws -> KafkaProducer {
        let kafka = configuration.kafka
        let rest = configuration.rest
        let timeout = Int(rest.produceTimeout.components.seconds * 1000
                          + rest.produceTimeout.components.attoseconds / 1_000_000_000_000_000)
        let properties = ["linger.ms": "1", "message.timeout.ms": "\(timeout)"]
            .merging(kafka.effectiveProducerProperties) { _, configured in configured }
        var producerConfiguration = KafkaProducerConfiguration(
            bootstrapServers: kafka.bootstrapServers, properties: properties,
            maxInFlight: rest.maxInFlight + rest.maxRecords)
        producerConfiguration.clientID = "pinpipe-rest"
        return try KafkaProducer(configuration: producerConfiguration, logger: logger.with(actor: "rest-producer"))
    }

    /// Loads the credentials file, connects and checks that each table and key column exists.
    func checkDatabase() async throws -> PostgresConnectionParameters {
        let path = try DatabaseCredentials.resolvePath(configured: configuration.source.credentialsFile,
                                                       environment: environment)
        var warnings: [String] = []
        let credentials = try DatabaseCredentials.load(file: path, warnings: &warnings)
        for warning in warnings { logger.warning("\(warning)") }
        let parameters = PostgresConnectionParameters(source: configuration.source, credentials: credentials)
        let policy = RetryPolicy(initialDelay: configuration.source.reconnect.initialDelay,
                                         maxDelay: configuration.source.reconnect.maxDelay,
                                         maxAttempts: configuration.source.reconnect.startupAttempts)
        let connection = try await PostgresConnection.connect(parameters, retry: policy, logger: logger)
        do {
            for table in configuration.source.tables {
                let name = "\"" + table.table.replacingOccurrences(of: "\"", with: "\"\"") + "\""
                let probe = try await connection.query("SELECT * FROM \(name) LIMIT 0")
                _ = try PostgresRowEncoder(columns: probe.columns, keyColumn: table.keyColumn)
            }
        } catch {
            await connection.close()
            throw error
        }
        await connection.close()
        logger.info("PostgreSQL tables present", metadata: [
            "pg.server": "\(credentials.host):\(credentials.port)/\(credentials.database)",
            "pg.tables": "\(configuration.source.tables.map(\.table))",
        ])
        return parameters
    }

    func checkBucket() async throws -> S3Client {
        let settings = configuration.s3
        let credentials = AWSCredentialsSetup.provider(
            staticCredentials: settings.staticCredentials, profile: settings.profile,
            instanceMetadataEndpoint: settings.instanceMetadataEndpoint, environment: environment, logger: logger)
        let client = S3Client(
            configuration: S3Configuration(
                region: settings.region, endpoint: settings.endpoint, pathStyle: settings.pathStyle,
                multipartThreshold: settings.multipartThreshold, partSize: settings.partSize,
                retry: RetryPolicy.s3Requests.with(maxAttempts: settings.requestAttempts),
                checksum: settings.checksum == .md5 ? .md5 : .crc32c),
            credentials: credentials, logger: logger.with(actor: "s3"))
        do {
            try await client.headBucket(settings.bucket)
        } catch {
            await client.shutdown()
            throw error
        }
        logger.info("S3 bucket reachable", metadata: [LogKey.bucket: "\(settings.bucket)"])
        return client
    }
}
