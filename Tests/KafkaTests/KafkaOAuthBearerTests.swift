import Foundation
import Logging
import Synchronization
import Testing
import TestSupport

@testable import Kafka

/// The OAUTHBEARER refresh callback: librdkafka asks the provider for a token when the client starts (before any
/// connection), on librdkafka's background thread; a failing provider is reported through librdkafka's
/// token-failure call and reaches the caller as an authentication error, not a crash or a hang.
@Suite struct KafkaOAuthBearerTests {
    final class Calls: Sendable {
        let count = Atomic<Int>(0)
    }

    static let properties = ["security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "OAUTHBEARER"]

    @Test func theProviderIsAskedForATokenWhenTheClientStarts() async throws {
        let calls = Calls()
        var configuration = KafkaProducerConfiguration(bootstrapServers: "127.0.0.1:1", properties: Self.properties)
        configuration.oauthBearer = {
            calls.count.add(1, ordering: .sequentiallyConsistent)
            return KafkaOAuthBearerToken(value: "header.payload.signature", expiration: Date().addingTimeInterval(900),
                                         principal: "pinpipe-test")
        }
        let producer = try KafkaProducer(configuration: configuration, logger: KafkaTestSupport.quietLogger)
        let deadline = ContinuousClock.now + .seconds(10)
        while calls.count.load(ordering: .sequentiallyConsistent) == 0, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        await producer.shutdown(timeout: .seconds(1))
        #expect(calls.count.load(ordering: .sequentiallyConsistent) == 1, "one token at start, none refused")
    }

    @Test func aFailingProviderSurfacesAsAnAuthenticationErrorWithItsReason() async throws {
        struct NoCredentials: Error, CustomStringConvertible {
            var description: String { "no AWS credentials found; tried environment" }
        }
        let calls = Calls()
        var configuration = KafkaProducerConfiguration(bootstrapServers: "127.0.0.1:1", properties: Self.properties)
        configuration.oauthBearer = {
            calls.count.add(1, ordering: .sequentiallyConsistent)
            throw NoCredentials()
        }
        let producer = try KafkaProducer(configuration: configuration, logger: KafkaTestSupport.quietLogger)
        let started = ContinuousClock.now
        do {
            let cluster = try await producer.describeCluster(timeout: .seconds(20))
            Issue.record("described \(cluster) without a token")
        } catch {
            #expect(error.code == .authentication)
            #expect(error.message.contains("no AWS credentials found"), "\(error.message)")
        }
        #expect(ContinuousClock.now - started < .seconds(15), "the failure must not wait for the whole timeout")
        await producer.shutdown(timeout: .seconds(1))
        #expect(calls.count.load(ordering: .sequentiallyConsistent) >= 1)
    }
}
