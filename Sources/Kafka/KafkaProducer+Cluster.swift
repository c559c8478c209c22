import CRdKafka

extension KafkaProducer {
    /// Cluster id, controller and brokers (one metadata request), plus the API versions the first broker reported
    /// when the producer connected (captured when ``KafkaProducerConfiguration/captureAPIVersions`` is on).
    /// Runs off the cooperative pool.
    public func describeCluster(timeout: Duration) async throws(KafkaError) -> KafkaClusterDescription {
        guard !state.closed.load(ordering: .sequentiallyConsistent) else { throw .shutDown("metadata") }
        let rk = handle
        let bootstrap = configuration.bootstrapServers
        let context = context
        let result = await admin.run { () -> Result<KafkaClusterDescription, KafkaError> in
            // Short requests until the deadline, so a refused authentication fails at once instead of after the
            // whole timeout (librdkafka keeps reconnecting with its backoff; it reports each refusal via error_cb).
            let deadline = ContinuousClock.now + timeout
            var metadata: UnsafePointer<rd_kafka_metadata>?
            var err = RD_KAFKA_RESP_ERR__TIMED_OUT
            var wait = Duration.milliseconds(250)  // doubling up to 4 s, so a slow cluster still answers in time
            while true {
                let remaining = max(Duration.milliseconds(1), deadline - ContinuousClock.now)
                err = rd_kafka_metadata(rk.pointer, 0, nil, &metadata, min(wait, remaining).librdkafkaMilliseconds)
                wait = min(wait * 2, .seconds(4))
                if err == RD_KAFKA_RESP_ERR_NO_ERROR { break }
                if let last = context.lastError, last.code == .authentication {
                    return .failure(KafkaError(
                        code: .authentication,
                        message: "\(bootstrap) refused pinpipe's SASL authentication: \(last.message)",
                        isRetriable: false))
                }
                if ContinuousClock.now >= deadline { break }
            }
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
                return .failure(KafkaError(
                    err, handle: rk.pointer, context: "no broker of \(bootstrap) answered a metadata request within \(timeout)"))
            }
            let brokers = (0..<Int(metadata.pointee.broker_cnt)).map { index in
                let broker = metadata.pointee.brokers[index]
                return KafkaClusterDescription.Broker(id: broker.id, host: String(cString: broker.host), port: broker.port)
            }
            rd_kafka_metadata_destroy(metadata)
            // Both answer from the metadata just fetched (cached), so the waits are short.
            var clusterID: String?
            if let raw = rd_kafka_clusterid(rk.pointer, 1000) {
                clusterID = String(cString: raw)
                rd_kafka_mem_free(rk.pointer, raw)
            }
            let controller = rd_kafka_controllerid(rk.pointer, 1000)
            return .success(KafkaClusterDescription(
                clusterID: clusterID, controllerID: controller >= 0 ? controller : nil,
                brokers: brokers.sorted { $0.id < $1.id }, apiVersions: context.apiVersions))
        }
        guard let result else { throw .shutDown("metadata") }
        return try result.get()
    }
}
