import Kafka
import Logging
import Testing
import TestSupport

@testable import Kafka

@Suite struct KafkaConfigurationTests {
    @Test func linkedLibraryIsAtLeastTwoPointZero() throws {
        try KafkaLibrary.checkMinimumVersion()
        #expect(KafkaLibrary.versionNumber >= 0x0200_0000)
        #expect(KafkaLibrary.version.hasPrefix("2."))
    }

    @Test func olderLibraryIsRefusedWithAClearMessage() {
        do {
            try KafkaLibrary.check(versionNumber: 0x0109_02ff, version: "1.9.2")
            Issue.record("1.9.2 was accepted")
        } catch {
            #expect(error.code == .libraryTooOld)
            #expect(error.message.contains("1.9.2"))
            #expect(error.message.contains("2.0"))
            #expect(!error.isRetriable)
        }
    }

    @Test func unknownPropertyIsNamed() {
        let configuration = KafkaProducerConfiguration(
            bootstrapServers: "127.0.0.1:1", properties: ["linger.mss": "5"])
        do {
            let producer = try KafkaProducer(configuration: configuration, logger: KafkaTestSupport.quietLogger)
            Issue.record("created \(producer)")
        } catch {
            #expect(error.code == .unknownProperty)
            #expect(error.message.contains("\"linger.mss\""))
        }
    }

    @Test func invalidValueIsNamedButSecretValuesAreNot() {
        do {
            _ = try KafkaConsumer(
                configuration: .init(
                    bootstrapServers: "127.0.0.1:1", groupID: "g", topics: ["t"],
                    properties: ["auto.offset.reset": "sideways"]),
                logger: KafkaTestSupport.quietLogger)
            Issue.record("invalid value accepted")
        } catch {
            #expect(error.code == .invalidConfiguration)
            #expect(error.message.contains("auto.offset.reset"))
            #expect(error.message.contains("sideways"))
        }
    }

    @Test func clientCreationErrorsDoNotEchoSecretValues() {
        let secret = "not-a-pem-\(UInt32.random(in: 0...UInt32.max))"
        do {
            _ = try KafkaProducer(
                configuration: .init(
                    bootstrapServers: "127.0.0.1:1",
                    properties: ["security.protocol": "ssl", "ssl.key.pem": secret]),
                logger: KafkaTestSupport.quietLogger)
            Issue.record("a client with an invalid private key was created")
        } catch {
            #expect(error.code == .clientCreation)
            #expect(!error.message.contains(secret))
        }
    }

    @Test func secretsNeverReachTheLogs() async throws {
        let recorder = LogCapture()
        let cluster = try KafkaMockCluster(brokers: 1, logger: KafkaTestSupport.quietLogger)
        defer { cluster.shutdown() }
        let secret = "S3cr3t-\(UInt32.random(in: 0...UInt32.max))"
        let producer = try KafkaProducer(
            configuration: .init(
                bootstrapServers: cluster.bootstrapServers,
                properties: [
                    "security.protocol": "sasl_plaintext", "sasl.mechanism": "PLAIN", "sasl.username": "alice",
                    "sasl.password": secret, "ssl.key.password": secret, "debug": "conf,security,broker",
                    "message.timeout.ms": "1500",
                ]),
            logger: recorder.logger("kafka-test"))
        // The mock has no SASL: the attempt fails and librdkafka logs about it, with debug on.
        var sendError: KafkaError?
        do {
            _ = try await producer.send(topic: "t", key: nil, value: [1, 2, 3])
        } catch {
            sendError = error
        }
        await producer.shutdown(timeout: .seconds(1))
        #expect(sendError != nil)
        let entries = recorder.entries
        #expect(entries.count > 5, "librdkafka debug logs were routed")
        #expect(entries.allSatisfy { !$0.fullText.contains(secret) })
        let creation = try #require(entries.first { $0.message == "librdkafka client created" })
        #expect(creation.fullText.contains("sasl.password=\(KafkaSecrets.mask)"))
        #expect(creation.fullText.contains("sasl.username=alice"))
    }

    @Test func unreachableBootstrapFailsClearlyWithoutHanging() async throws {
        let producer = try KafkaProducer(
            configuration: .init(bootstrapServers: "no-such-broker.invalid:9092"), logger: KafkaTestSupport.quietLogger)
        let start = ContinuousClock.now
        do {
            _ = try await producer.topicPartitionCounts(["x"], timeout: .seconds(2))
            Issue.record("metadata from a broker that does not exist")
        } catch {
            #expect(error.message.contains("no-such-broker.invalid:9092"))
            #expect(error.isRetriable)
        }
        // "No hang": the 2 s metadata timeout bounds it; the limit is loose because the machine is shared and noisy.
        #expect(ContinuousClock.now - start < .seconds(60))
        await producer.shutdown(timeout: .milliseconds(100))

        let consumer = try KafkaConsumer(
            configuration: .init(bootstrapServers: "no-such-broker.invalid:9092", groupID: "g", topics: ["x"]),
            logger: KafkaTestSupport.quietLogger)
        let pollStart = ContinuousClock.now
        let messages = try await consumer.poll(timeout: .seconds(1))
        #expect(messages.isEmpty)
        #expect(ContinuousClock.now - pollStart < .seconds(30))  // no hang; loose for a noisy machine
        await consumer.close()
    }

    /// The consumer's defaults bound how long a broker holds an empty Fetch (a wake-up waits behind it) and the
    /// prefetch memory; a property the operator sets wins, being applied last.
    @Test func consumerDefaultsAndTheirOverride() {
        func value(_ key: String, _ configuration: KafkaConsumerConfiguration) -> String? {
            configuration.librdkafkaProperties.last { $0.0 == key }?.1
        }
        let defaults = KafkaConsumerConfiguration(bootstrapServers: "127.0.0.1:9", groupID: "g", topics: ["t"])
        #expect(value("fetch.wait.max.ms", defaults) == "100")
        #expect(value("queued.max.messages.kbytes", defaults) == "1024")
        let overridden = KafkaConsumerConfiguration(
            bootstrapServers: "127.0.0.1:9", groupID: "g", topics: ["t"], properties: ["fetch.wait.max.ms": "500"])
        #expect(value("fetch.wait.max.ms", overridden) == "500")
    }
}
