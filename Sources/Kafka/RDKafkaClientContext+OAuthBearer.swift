import CRdKafka
import Dispatch
import Foundation
import Synchronization

extension RDKafkaClientContext {
    /// The longest a token refresh may hold librdkafka's SASL background thread. The provider keeps running
    /// after it (its result is dropped) and librdkafka is told the refresh failed, so it asks again later.
    static let oauthBearerRefreshTimeout: Duration = .seconds(10)

    /// `oauthbearer_token_refresh_cb`, on librdkafka's background thread (SASL background callbacks are enabled
    /// for every client with a provider, so no poll loop of the application has to serve it). Waits at most
    /// ``oauthBearerRefreshTimeout`` for the provider, then sets the token or reports the failure to librdkafka;
    /// it never throws across C and never leaves librdkafka without an answer.
    func refreshOAuthBearerToken(_ rk: OpaquePointer) {
        guard let provider = oauthBearer else {
            rd_kafka_oauthbearer_set_token_failure(rk, "pinpipe has no OAUTHBEARER token provider for this client")
            return
        }
        let outcome = TokenOutcome()
        Task {
            let result: Result<KafkaOAuthBearerToken, any Error>
            do { result = .success(try await provider()) } catch { result = .failure(error) }
            outcome.result.withLock { $0 = result }
            outcome.done.signal()
        }
        let deadline = DispatchTime.now() + .milliseconds(Int(Self.oauthBearerRefreshTimeout.librdkafkaMilliseconds))
        let result = outcome.done.wait(timeout: deadline) == .success ? outcome.result.withLock { $0 } : nil
        switch result {
        case .success(let token):
            var errstr = [CChar](repeating: 0, count: 512)
            let lifetimeMS = Int64((token.expiration.timeIntervalSince1970 * 1000).rounded(.down))
            let err = rd_kafka_oauthbearer_set_token(rk, token.value, lifetimeMS, token.principal, nil, 0,
                                                     &errstr, errstr.count)
            if err == RD_KAFKA_RESP_ERR_NO_ERROR {
                logger.debug("OAUTHBEARER token set", metadata: [
                    "kafka.principal": "\(token.principal)",
                    "kafka.token_expires": "\(token.expiration)",
                ])
            } else {
                let reason = errstr.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
                logger.error("librdkafka refused the OAUTHBEARER token", metadata: ["kafka.error": "\(reason)"])
                rd_kafka_oauthbearer_set_token_failure(rk, "token refused: \(reason)")
            }
        case .failure(let error):
            let reason = "cannot make an OAUTHBEARER token: \(error)"
            logger.error("\(reason)")
            rd_kafka_oauthbearer_set_token_failure(rk, reason)
        case nil:
            let reason = "cannot make an OAUTHBEARER token: no answer within "
                + "\(Self.oauthBearerRefreshTimeout.components.seconds) s (credentials source too slow)"
            logger.error("\(reason)")
            rd_kafka_oauthbearer_set_token_failure(rk, reason)
        }
    }
}

/// Hands the provider's result from its task to the waiting librdkafka thread.
private final class TokenOutcome: Sendable {
    let result = Mutex<Result<KafkaOAuthBearerToken, any Error>?>(nil)
    let done = DispatchSemaphore(value: 0)
}
