import Logging

/// Logger metadata keys, defined once (the journal handler turns `kafka.topic` into KAFKA_TOPIC).
enum LogKey {
    static let topic = "kafka.topic"
    static let partition = "kafka.partition"
    static let offset = "kafka.offset"
    static let firstOffset = "kafka.first_offset"
    static let lastOffset = "kafka.last_offset"
    static let objectKey = "s3.key"
    static let bucket = "s3.bucket"
    static let records = "records"
    static let reason = "reason"
    static let error = "error"
    static let table = "pg.table"
    static let key = "pg.key"
    static let actor = "actor"
}
