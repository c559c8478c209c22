import CRdKafka
import Support
import Logging

extension KafkaProducer {
    /// Partition counts of the given topics from cluster metadata; topics that do not exist are absent.
    /// Lists all topics (so it never triggers broker-side auto-creation). Runs off the cooperative pool.
    public func topicPartitionCounts(_ topics: [String], timeout: Duration) async throws(KafkaError) -> [String: Int] {
        guard !state.closed.load(ordering: .sequentiallyConsistent) else { throw .shutDown("metadata") }
        let rk = handle
        let bootstrap = configuration.bootstrapServers
        let result = await admin.run { () -> Result<[String: Int], KafkaError> in
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let err = rd_kafka_metadata(rk.pointer, 1, nil, &metadata, timeout.librdkafkaMilliseconds)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
                return .failure(
                    KafkaError(err, handle: rk.pointer, context: "no broker of \(bootstrap) answered a metadata request within \(timeout)"))
            }
            defer { rd_kafka_metadata_destroy(metadata) }
            let wanted = Set(topics)
            var counts: [String: Int] = [:]
            for index in 0..<Int(metadata.pointee.topic_cnt) {
                let topic = metadata.pointee.topics[index]
                let name = String(cString: topic.topic)
                guard wanted.contains(name), topic.err == RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
                counts[name] = Int(topic.partition_cnt)
            }
            return .success(counts)
        }
        guard let result else { throw .shutDown("metadata") }
        do {
            return try result.get()
        } catch {
            var error = error
            error.message += lastErrorSuffix
            throw error
        }
    }

    /// Checks that the topics exist. Missing ones are created through the Admin API when `create` is true
    /// (against librdkafka's mock cluster, which has no CreateTopics API, through broker auto-creation with the
    /// mock's default partition count instead); otherwise the error names the missing topics. `configs` are
    /// topic configurations for created topics (e.g. `cleanup.policy: compact`); auto-creation cannot set them.
    public func ensureTopics(
        _ topics: [String], create: Bool, partitions: Int, replicationFactor: Int, configs: [String: String] = [:],
        timeout: Duration
    ) async throws(KafkaError) {
        let deadline = ContinuousClock.now + timeout
        let existing = try await topicPartitionCounts(topics, timeout: timeout)
        let missing = topics.filter { existing[$0] == nil }
        guard !missing.isEmpty else { return }
        guard create else {
            throw KafkaError(
                code: .missingTopics,
                message: "topic(s) missing in \(configuration.bootstrapServers): \(missing.joined(separator: ", ")); "
                    + "create them or allow pinpipe to create them",
                topic: missing.first, isRetriable: false)
        }
        do {
            try await createTopics(missing, partitions: partitions, replicationFactor: replicationFactor, configs: configs,
                                   timeout: timeout)
        } catch where error.code == .unsupportedFeature || error.code == .init(rawValue: RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION.rawValue) {
            logger.info(
                "broker has no CreateTopics API (librdkafka mock cluster?); relying on broker auto-creation",
                metadata: ["kafka.topics": "\(missing.joined(separator: ","))",
                           "kafka.topic_configs_not_set": "\(configs.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })"])
            try await autoCreate(missing, timeout: deadline - ContinuousClock.now)
        }
        // Creation propagates asynchronously: ask the metadata again (with backoff) until it shows every topic.
        var backoff = Backoff(initial: .milliseconds(50), maximum: .milliseconds(500))
        while true {
            let counts = try await topicPartitionCounts(topics, timeout: max(.milliseconds(100), deadline - ContinuousClock.now))
            let stillMissing = topics.filter { counts[$0] == nil }
            if stillMissing.isEmpty { return }
            guard ContinuousClock.now < deadline else {
                throw KafkaError(
                    code: .missingTopics,
                    message: "topic(s) not visible within \(timeout) after creation: \(stillMissing.joined(separator: ", "))",
                    topic: stillMissing.first, isRetriable: true)
            }
            try? await Task.sleep(for: min(backoff.next(), max(.zero, deadline - ContinuousClock.now)))
        }
    }

    private func createTopics(_ topics: [String], partitions: Int, replicationFactor: Int, configs: [String: String],
                              timeout: Duration) async throws(KafkaError)
    {
        let rk = handle
        let result = await admin.run { () -> KafkaError? in
            var errstr = [CChar](repeating: 0, count: 512)
            var newTopics: [OpaquePointer?] = []
            defer { for topic in newTopics { rd_kafka_NewTopic_destroy(topic) } }
            for name in topics {
                guard let topic = rd_kafka_NewTopic_new(name, Int32(partitions), Int32(replicationFactor), &errstr, errstr.count) else {
                    return KafkaError(
                        code: .invalidConfiguration,
                        message: "cannot create topic: \(errstr.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })",
                        topic: name, isRetriable: false)
                }
                newTopics.append(topic)
                for (name, value) in configs.sorted(by: { $0.key < $1.key }) {
                    let err = rd_kafka_NewTopic_set_config(topic, name, value)
                    if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                        return KafkaError(err, handle: rk.pointer, context: "invalid topic config \(name)=\(value)",
                                          topic: name)
                    }
                }
            }
            // librdkafka's mock cluster names no existing broker as controller (and has no CreateTopics API):
            // CreateTopics would wait for the whole timeout. Detect that and let the caller fall back.
            if let brokers = KafkaProducer.brokerIDs(rk.pointer, timeout: timeout) {
                let controller = rd_kafka_controllerid(rk.pointer, min(1000, timeout.librdkafkaMilliseconds))
                if !brokers.contains(controller) {
                    return KafkaError(
                        code: .unsupportedFeature,
                        message: "the cluster reports no usable controller (id \(controller), brokers \(brokers.sorted()))")
                }
            }
            let options = rd_kafka_AdminOptions_new(rk.pointer, RD_KAFKA_ADMIN_OP_CREATETOPICS)
            defer { rd_kafka_AdminOptions_destroy(options) }
            _ = rd_kafka_AdminOptions_set_request_timeout(options, timeout.librdkafkaMilliseconds, &errstr, errstr.count)
            _ = rd_kafka_AdminOptions_set_operation_timeout(options, timeout.librdkafkaMilliseconds, &errstr, errstr.count)
            let queue = rd_kafka_queue_new(rk.pointer)
            defer { rd_kafka_queue_destroy(queue) }
            newTopics.withUnsafeMutableBufferPointer { buffer in
                rd_kafka_CreateTopics(rk.pointer, buffer.baseAddress, buffer.count, options, queue)
            }
            guard let event = rd_kafka_queue_poll(queue, timeout.librdkafkaMilliseconds + 1000) else {
                return KafkaError(code: .timedOut, message: "CreateTopics did not answer within \(timeout)")
            }
            defer { rd_kafka_event_destroy(event) }
            let err = rd_kafka_event_error(event)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                let text = rd_kafka_event_error_string(event).map { String(cString: $0) } ?? ""
                return KafkaError(err, handle: rk.pointer, context: "CreateTopics failed: \(text)")
            }
            var count = 0
            guard let results = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event), &count) else {
                return nil
            }
            for index in 0..<count {
                let result = results[index]
                let code = rd_kafka_topic_result_error(result)
                guard code != RD_KAFKA_RESP_ERR_NO_ERROR, code != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS else { continue }
                let name = String(cString: rd_kafka_topic_result_name(result))
                let text = rd_kafka_topic_result_error_string(result).map { String(cString: $0) } ?? ""
                return KafkaError(code, handle: rk.pointer, context: "cannot create topic: \(text)", topic: name)
            }
            return nil
        }
        guard let result else { throw .shutDown("create topics") }
        if let error = result { throw error }
    }

    /// Metadata requests for specific topics with auto-creation allowed (the producer default).
    private func autoCreate(_ topics: [String], timeout: Duration) async throws(KafkaError) {
        let rk = handle
        let result = await admin.run { () -> KafkaError? in
            for name in topics {
                guard let rkt = rd_kafka_topic_new(rk.pointer, name, nil) else { continue }
                defer { rd_kafka_topic_destroy(rkt) }
                var metadata: UnsafePointer<rd_kafka_metadata>?
                let err = rd_kafka_metadata(rk.pointer, 0, rkt, &metadata, max(100, timeout.librdkafkaMilliseconds))
                if let metadata { rd_kafka_metadata_destroy(metadata) }
                if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    return KafkaError(err, handle: rk.pointer, context: "auto-creation request failed", topic: name)
                }
            }
            return nil
        }
        guard let result else { throw .shutDown("create topics") }
        if let error = result { throw error }
    }

    /// The broker ids of the cluster from a metadata request, `nil` when none answered.
    static func brokerIDs(_ rk: OpaquePointer, timeout: Duration) -> Set<Int32>? {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        guard rd_kafka_metadata(rk, 1, nil, &metadata, timeout.librdkafkaMilliseconds) == RD_KAFKA_RESP_ERR_NO_ERROR,
            let metadata
        else { return nil }
        defer { rd_kafka_metadata_destroy(metadata) }
        return Set((0..<Int(metadata.pointee.broker_cnt)).map { metadata.pointee.brokers[$0].id })
    }
}
