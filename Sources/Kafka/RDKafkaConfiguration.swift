import CRdKafka
import Logging

/// Builds an `rd_kafka_conf_t` from property pairs, naming the offending property (never its secret value).
enum RDKafkaConfiguration {
    /// Returns a new configuration object that the caller owns (hand it to `rd_kafka_new` or destroy it).
    static func make(_ properties: [(String, String)]) throws(KafkaError) -> OpaquePointer {
        let conf = rd_kafka_conf_new()!
        for (name, value) in properties {
            var errstr = [CChar](repeating: 0, count: 512)
            let result = rd_kafka_conf_set(conf, name, value, &errstr, errstr.count)
            guard result != RD_KAFKA_CONF_OK else { continue }
            rd_kafka_conf_destroy(conf)
            let reason = KafkaSecrets.redact(
                errstr.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }, value: value, of: name)
            if result == RD_KAFKA_CONF_UNKNOWN {
                throw KafkaError(
                    code: .unknownProperty,
                    message: "unknown librdkafka configuration property \"\(name)\": \(reason)", isRetriable: false)
            }
            throw KafkaError(
                code: .invalidConfiguration,
                message: "invalid value \(KafkaSecrets.displayValue(value, of: name)) for librdkafka property "
                    + "\"\(name)\": \(reason)",
                isRetriable: false)
        }
        return conf
    }

    /// Creates a client: installs the logging and error callbacks and the context as opaque, then `rd_kafka_new`.
    /// `configure` may install more callbacks on the configuration before the client takes it over.
    /// - Important: `context` must outlive the returned handle (the owner keeps it and destroys the handle first).
    static func makeClient(
        type: rd_kafka_type_t, properties: [(String, String)], context: RDKafkaClientContext,
        configure: (OpaquePointer) -> Void = { _ in }
    ) throws(KafkaError) -> OpaquePointer {
        let conf = try make(properties)
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(context).toOpaque())
        rd_kafka_conf_set_log_cb(conf) { rk, level, facility, text in
            guard let rk, let opaque = rd_kafka_opaque(rk) else { return }
            let context = Unmanaged<RDKafkaClientContext>.fromOpaque(opaque).takeUnretainedValue()
            context.logLibrary(level: level, facility: facility, text: text)
        }
        rd_kafka_conf_set_error_cb(conf) { rk, err, reason, opaque in
            guard let opaque else { return }
            let context = Unmanaged<RDKafkaClientContext>.fromOpaque(opaque).takeUnretainedValue()
            context.recordError(rk, code: err, reason: reason.map { String(cString: $0) } ?? "")
        }
        if context.oauthBearer != nil {
            rd_kafka_conf_set_oauthbearer_token_refresh_cb(conf) { rk, _, opaque in
                guard let rk, let opaque else { return }
                Unmanaged<RDKafkaClientContext>.fromOpaque(opaque).takeUnretainedValue().refreshOAuthBearerToken(rk)
            }
            // A SASL queue of its own, served by librdkafka's background thread (enabled after rd_kafka_new).
            rd_kafka_conf_enable_sasl_queue(conf, 1)
        }
        configure(conf)
        var errstr = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(type, conf, &errstr, errstr.count) else {
            rd_kafka_conf_destroy(conf)
            var reason = errstr.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            for (name, value) in properties { reason = KafkaSecrets.redact(reason, value: value, of: name) }
            throw KafkaError(
                code: .clientCreation, message: "cannot create the Kafka client: \(reason)", isRetriable: false)
        }
        if context.oauthBearer != nil, let error = rd_kafka_sasl_background_callbacks_enable(handle) {
            // Token refreshes run on librdkafka's background thread, whatever the client's poll loop is doing.
            let reason = String(cString: rd_kafka_error_string(error))
            rd_kafka_error_destroy(error)
            rd_kafka_destroy(handle)
            throw KafkaError(code: .clientCreation, message: "cannot enable SASL background callbacks: \(reason)",
                             isRetriable: false)
        }
        context.logger.debug(
            "librdkafka client created",
            metadata: [
                "kafka.client": "\(String(cString: rd_kafka_name(handle)))",
                "kafka.properties": "\(KafkaSecrets.describe(properties))",
            ])
        return handle
    }
}
