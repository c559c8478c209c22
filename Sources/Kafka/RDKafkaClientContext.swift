import CRdKafka
import Foundation
import Logging
import Synchronization

/// State that librdkafka's C callbacks reach through the client opaque: the logger and the last error.
/// Producer and consumer extend it with their own callback state.
final class RDKafkaClientContext: Sendable {
    let logger: Logger
    let bootstrapServers: String
    private let lastErrorStorage = Mutex<KafkaError?>(nil)
    private let apiVersionsStorage = Mutex<APIVersionCapture>(APIVersionCapture())
    let producer: ProducerCallbackState?
    let consumer: ConsumerCallbackState?
    /// Set: the client authenticates with SASL/OAUTHBEARER tokens from this provider.
    let oauthBearer: KafkaOAuthBearerTokenProvider?

    init(
        logger: Logger, bootstrapServers: String, producer: ProducerCallbackState? = nil,
        consumer: ConsumerCallbackState? = nil, oauthBearer: KafkaOAuthBearerTokenProvider? = nil
    ) {
        self.logger = logger
        self.bootstrapServers = bootstrapServers
        self.producer = producer
        self.consumer = consumer
        self.oauthBearer = oauthBearer
    }

    /// API name → `min..max` from the first complete ApiVersions report (librdkafka's `feature` debug lines).
    var apiVersions: [String: String] { apiVersionsStorage.withLock { $0.first ?? $0.current } }

    /// The last client-level error librdkafka reported (broker down, resolution failure, fatal error…).
    var lastError: KafkaError? { lastErrorStorage.withLock { $0 } }

    /// Routes a librdkafka log line (syslog level) into swift-log. Thread-safe: swift-log handlers must be.
    func logLibrary(level: Int32, facility: UnsafePointer<CChar>?, text: UnsafePointer<CChar>?) {
        let logLevel: Logger.Level =
            switch level {
            case ...3: .error
            case 4: .warning
            case 5: .notice
            case 6: .info
            default: .debug
            }
        if level == 7, let facility, strcmp(facility, "APIVERSION") == 0, let text {
            let line = String(cString: text)
            apiVersionsStorage.withLock { $0.add(line) }
        }
        guard logger.logLevel <= logLevel else { return }
        let message = text.map { String(cString: $0) } ?? ""
        let facility = facility.map { String(cString: $0) } ?? ""
        logger.log(level: logLevel, "\(message)", metadata: ["librdkafka.facility": "\(facility)"])
    }

    /// `error_cb`: client-level errors. Most are transient and retried by librdkafka itself.
    func recordError(_ handle: OpaquePointer?, code: Int32, reason: String) {
        let err = rd_kafka_resp_err_t(rawValue: code)
        var error = KafkaError(code: .init(rawValue: code), message: reason)
        if err == RD_KAFKA_RESP_ERR__FATAL, let handle, let fatal = KafkaError.fatal(of: handle) {
            error = fatal
            logger.error("librdkafka fatal error", metadata: ["kafka.error": "\(fatal)"])
        } else {
            logger.info("librdkafka client error", metadata: ["kafka.error": "\(error)"])
        }
        lastErrorStorage.withLock { $0 = error }
    }
}
