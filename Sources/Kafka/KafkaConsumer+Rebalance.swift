import CRdKafka
import Logging

extension KafkaConsumer {
    /// The rebalance callback (poll thread): tells the application first, then applies the change.
    static func rebalance(
        _ rk: OpaquePointer, _ err: rd_kafka_resp_err_t,
        _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, _ context: RDKafkaClientContext
    ) {
        let logger = context.logger
        guard let state = context.consumer else { return }
        let partitions = RDKafkaPartitionList.partitions(list)
        let cooperative = rd_kafka_rebalance_protocol(rk).map { String(cString: $0) } == "COOPERATIVE"
        switch err {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            logger.info(
                "Kafka partitions assigned", metadata: ["kafka.partitions": "\(partitions.map(\.description))"])
            state.onRebalance?(.assigned(partitions))
            state.waitingSince.withLock { $0 = nil }
            if cooperative {
                if let error = rd_kafka_incremental_assign(rk, list) {
                    logger.error("incremental assign failed", metadata: ["kafka.error": "\(KafkaError(consuming: error, context: "assign"))"])
                }
            } else {
                let result = rd_kafka_assign(rk, list)
                if result != RD_KAFKA_RESP_ERR_NO_ERROR {
                    logger.error("assign failed", metadata: ["kafka.error": "\(String(cString: rd_kafka_err2str(result)))"])
                }
            }
            // librdkafka keeps a partition's pause flag across unassign/assign: a partition paused by this member
            // before a revocation would come back paused. A new assignment always starts fetching.
            if let list { _ = rd_kafka_resume_partitions(rk, list) }
            state.assignment.withLock { $0.formUnion(partitions) }
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            let lost = rd_kafka_assignment_lost(rk) != 0
            logger.info(
                "Kafka partitions revoked",
                metadata: ["kafka.partitions": "\(partitions.map(\.description))", "kafka.lost": "\(lost)"])
            state.onRebalance?(.revoked(partitions))
            if state.deferRevocations && !state.closing.load(ordering: .sequentiallyConsistent) {
                // Handed to the application behind the records polled so far; applied by completeRevocation.
                if let list { _ = rd_kafka_pause_partitions(rk, list) }
                state.assignment.withLock { $0.subtract(partitions) }
                state.revoking.withLock { $0.formUnion(partitions) }
                state.revocations.withLock {
                    $0.append(KafkaRevocation(partitions: partitions, lost: lost, cooperative: cooperative))
                }
                state.revocationCount.add(1, ordering: .sequentiallyConsistent)
                return
            }
            if !cooperative { state.waitingSince.withLock { $0 = $0 ?? .now } }
            if cooperative {
                if let error = rd_kafka_incremental_unassign(rk, list) {
                    logger.error("incremental unassign failed", metadata: ["kafka.error": "\(KafkaError(consuming: error, context: "unassign"))"])
                }
                state.assignment.withLock { $0.subtract(partitions) }
                state.forget(partitions)
            } else {
                _ = rd_kafka_assign(rk, nil)
                state.assignment.withLock { $0.removeAll() }
                state.forget(nil)
            }
        default:
            logger.error(
                "Kafka rebalance error; dropping the assignment",
                metadata: ["kafka.error": "\(String(cString: rd_kafka_err2str(err)))"])
            let assigned = state.sortedAssignment
            if !assigned.isEmpty { state.onRebalance?(.revoked(assigned)) }
            _ = rd_kafka_assign(rk, nil)
            state.assignment.withLock { $0.removeAll() }
            state.forget(nil)
        }
    }
}
