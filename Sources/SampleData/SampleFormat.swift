/// The encodings the generator writes.
public enum SampleFormat: String, Sendable, CaseIterable {
    /// PostgreSQL `COPY ... (FORMAT csv)` records, no header.
    case csv
    /// The pipeline's record values, one compact JSON object per line.
    case jsonLines = "jsonl"
}
