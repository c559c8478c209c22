/// Logger metadata keys of the Postgres module, defined once.
public enum PostgresLogKey {
    public static let server = "postgres.server"
    public static let serverVersion = "postgres.server_version"
    public static let error = "postgres.error"
    public static let attempt = "postgres.attempt"
    public static let cursor = "postgres.cursor"
}
