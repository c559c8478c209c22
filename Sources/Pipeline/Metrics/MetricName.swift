/// The names of pinpipe's metrics, in one place: the STATUS line, `pinpipe status`, the dashboard and the alert
/// rules all read these. Units and suffixes follow Prometheus' conventions; labels are bounded sets (table,
/// topic, partition, a fixed list of reasons), never keys or object names.
public enum MetricName {
    // Source (PostgreSQL -> Kafka).
    public static let rowsRead = "pinpipe_source_rows_read_total"                       // {table}
    public static let rowsWithoutKey = "pinpipe_source_rows_without_key_total"          // {table}
    public static let produced = "pinpipe_source_records_produced_total"                // {topic}
    public static let acknowledged = "pinpipe_source_records_acknowledged_total"        // {topic}
    public static let inFlight = "pinpipe_source_in_flight_records"
    public static let checkpointTime = "pinpipe_source_checkpoint_timestamp_seconds"   // {table}
    public static let databaseReconnects = "pinpipe_source_database_reconnects_total"
    public static let cdcChanges = "pinpipe_cdc_changes_total"                            // {op: r|c|u|d|t}
    public static let cdcLagBytes = "pinpipe_cdc_replication_lag_bytes"
    public static let cdcLagSeconds = "pinpipe_cdc_replication_lag_seconds"
    public static let cdcConfirmed = "pinpipe_cdc_confirmed_lsn"

    // Consumer (Kafka -> the sink).
    public static let consumed = "pinpipe_consumer_records_total"                       // {topic}
    public static let lag = "pinpipe_consumer_lag_records"                              // {topic, partition}
    public static let paused = "pinpipe_consumer_paused_partitions"
    public static let rebalances = "pinpipe_consumer_rebalances_total"                  // {event: assigned|revoked}

    // Sink (-> S3).
    public static let uploadedRecords = "pinpipe_sink_records_total"                    // {topic}
    public static let objects = "pinpipe_sink_objects_total"                            // {topic, reason}
    public static let bytes = "pinpipe_sink_bytes_total"                                // {topic, reason}
    public static let s3RequestDuration = "pinpipe_s3_request_duration_seconds"         // {operation}
    public static let retries = "pinpipe_sink_retries_total"                            // {cause}
    public static let deadLetters = "pinpipe_sink_dead_letter_records_total"            // {topic, reason}
    public static let memory = "pinpipe_sink_memory_bytes"
    public static let memoryLimit = "pinpipe_sink_memory_limit_bytes"
    public static let lastUpload = "pinpipe_sink_last_upload_timestamp_seconds"
    public static let lostRecords = "pinpipe_sink_lost_records_total"                   // {topic, partition}
    public static let lossRanges = "pinpipe_sink_loss_ranges_total"                     // {topic, partition}

    // REST endpoint (HTTP -> Kafka).
    public static let restRequests = "pinpipe_rest_requests_total"                      // {code: HTTP status}
    public static let restRecords = "pinpipe_rest_records_total"                        // {topic}
    public static let restRecordErrors = "pinpipe_rest_record_errors_total"             // {topic}
    public static let restInFlight = "pinpipe_rest_in_flight_records"
    public static let restRequestDuration = "pinpipe_rest_request_duration_seconds"

    /// Records per second over the last minute (for `pinpipe status`; dashboards use rate() on the counters).
    public static let throughput = "pinpipe_throughput_records_per_second"             // {stage}

    // Process.
    public static let errors = "pinpipe_errors_total"
    public static let watchdogOK = "pinpipe_watchdog_ok"
    public static let actorUp = "pinpipe_actor_up"                                      // {actor}
    public static let ready = "pinpipe_ready"
    public static let buildInfo = "pinpipe_build_info"                                  // {version, librdkafka, libpq}
    public static let residentMemory = "process_resident_memory_bytes"
    public static let openFDs = "process_open_fds"
    public static let startTime = "process_start_time_seconds"
}

/// The bounded label values for a dead letter's reason (the validator's message names a byte position).
enum DeadLetterReason {
    static func category(of reason: String) -> String {
        if reason.hasPrefix("empty value") { return "empty" }
        if reason.hasPrefix("not a JSON object") { return "not_object" }
        if reason.contains("UTF-8") { return "invalid_utf8" }
        if reason.hasPrefix("unexpected data after") { return "trailing_data" }
        return "invalid_json"
    }
}
