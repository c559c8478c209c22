/// The three source tables, with their PostgreSQL names, topic suffixes and column order.
public enum SampleTable: String, Sendable, CaseIterable {
    case pin
    case geo
    case user

    /// The PostgreSQL table name.
    public var tableName: String {
        switch self {
        case .pin: "pinterest_data"
        case .geo: "geolocation_data"
        case .user: "user_data"
        }
    }

    /// The name of the key column (`index` for pins, `ind` elsewhere).
    public var keyColumn: String { columns[0] }

    /// Column names in table order (the order the database returns and the JSON records keep).
    public var columns: [String] {
        switch self {
        case .pin: PinRow.columns
        case .geo: GeoRow.columns
        case .user: UserRow.columns
        }
    }

    /// The Kafka topic for this table under a prefix: `<prefix>.pin` and so on.
    public func topic(prefix: String) -> String { "\(prefix).\(rawValue)" }
}
