import PipelineConfig
import Postgres

extension PostgresConnectionParameters {
    /// The source database as the configuration and its credentials file describe it.
    public init(source: SourceConfiguration, credentials: DatabaseCredentials, replication: Bool = false) {
        self.init(host: credentials.host, port: credentials.port, user: credentials.user, password: credentials.password,
                  database: credentials.database, sslMode: source.sslMode.rawValue, sslRootCert: source.sslRootCert,
                  connectTimeout: source.connectTimeout, applicationName: "pinpipe", timeZone: source.timeZone)
        self.replication = replication
    }
}
