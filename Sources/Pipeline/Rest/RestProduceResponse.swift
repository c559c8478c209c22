import Kafka

/// The reply to a produce request, exactly in the v2 shape:
/// `{"offsets":[{"partition":P,"offset":O,"error_code":null,"error":null}],"key_schema_id":null,"value_schema_id":null}`.
/// A record that failed has `"partition":null,"offset":null` and its own code (50003 retriable, 50002 not) and
/// message, in its place.
struct RestProduceResponse: Sendable, Equatable {
    enum Outcome: Sendable, Equatable {
        case stored(partition: Int32, offset: Int64)
        case failed(code: Int, message: String)
    }

    var offsets: [Outcome]

    var json: String {
        var out = "{\"offsets\":["
        out.reserveCapacity(64 + offsets.count * 64)
        for (index, outcome) in offsets.enumerated() {
            if index > 0 { out.append(",") }
            switch outcome {
            case .stored(let partition, let offset):
                out.append("{\"partition\":\(partition),\"offset\":\(offset),\"error_code\":null,\"error\":null}")
            case .failed(let code, let message):
                out.append("{\"partition\":null,\"offset\":null,\"error_code\":\(code),\"error\":")
                RestJSONWriter.appendString(message, to: &out)
                out.append("}")
            }
        }
        out.append("],\"key_schema_id\":null,\"value_schema_id\":null}")
        return out
    }

    /// A delivery error as the proxy reports it: retriable Kafka errors 50003, the rest 50002.
    static func outcome(of error: KafkaError) -> Outcome {
        .failed(code: error.isRetriable ? RestError.kafkaRetriable : RestError.kafkaError, message: error.description)
    }
}
