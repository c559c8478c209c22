import Foundation
import Postgres
import Testing
import Support

/// Error classification, retry policy and parameter formatting, without a server.
@Suite struct PostgresErrorTests {
    static let parameters = PostgresConnectionParameters(
        host: "127.0.0.1", port: 54329, user: "pinpipe", password: "s3cr3t-Pa55", database: "pinterest")

    @Test(arguments: [
        (#"connection to server at "127.0.0.1", port 54329 failed: FATAL:  password authentication failed for user "pinpipe""#,
         PostgresError.Code.authenticationFailed, false, "password authentication failed for user \"pinpipe\" at 127.0.0.1:54329 — check USER and PASSWORD in db_creds.yaml"),
        (#"connection to server at "127.0.0.1", port 54329 failed: FATAL:  database "pinterest" does not exist"#,
         .unknownDatabase, false, "database \"pinterest\" does not exist at 127.0.0.1:54329 — check DATABASE in db_creds.yaml"),
        (#"connection to server at "127.0.0.1", port 54329 failed: FATAL:  role "pinpipe" does not exist"#,
         .authenticationFailed, false, "user \"pinpipe\" does not exist at 127.0.0.1:54329 — check USER in db_creds.yaml"),
        ("connection to server at \"127.0.0.1\", port 54329 failed: Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?",
         .connectionFailed, true, "connection refused at 127.0.0.1:54329 — is PostgreSQL running there? check HOST and PORT in db_creds.yaml"),
        ("connection to server at \"127.0.0.1\", port 54329 failed: server does not support SSL, but SSL was required",
         .sslFailed, false, "the server at 127.0.0.1:54329 does not support SSL but sslmode is prefer — enable SSL on the server or use sslmode prefer/disable"),
        (#"connection to server at "127.0.0.1", port 54329 failed: FATAL:  the database system is starting up"#,
         .connectionFailed, true, "the server at 127.0.0.1:54329 cannot accept connections right now — it will be retried"),
        (#"connection to server at "127.0.0.1", port 54329 failed: FATAL:  sorry, too many clients already"#,
         .connectionFailed, true, "the server at 127.0.0.1:54329 has no free connection slots — it will be retried"),
        ("could not translate host name \"db.example\" to address: Name or service not known",
         .connectionFailed, true, "cannot resolve host \"127.0.0.1\" — check HOST in db_creds.yaml and DNS"),
        ("connection to server at \"10.0.0.1\", port 5432 failed: timeout expired",
         .connectionFailed, true, "connecting to 127.0.0.1:54329 timed out after 10.0 seconds — check HOST, PORT and the network path (security groups)"),
        (#"connection to server at "127.0.0.1", port 54329 failed: FATAL:  invalid value for parameter "TimeZone": "Mars/Base""#,
         .invalidConfiguration, false, "libpq rejected the connection parameters for 127.0.0.1:54329 — check the PostgreSQL settings"),
    ])
    func connectFailureClassification(libpq: String, code: PostgresError.Code, retriable: Bool, message: String) {
        let error = PostgresError.connectFailure(libpqMessage: libpq + "\n", parameters: Self.parameters)
        #expect(error.code == code)
        #expect(error.isRetriable == retriable)
        #expect(error.message == message)
        #expect(error.detail == libpq.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(!error.description.contains("s3cr3t"))
    }

    @Test(arguments: [
        ("08006", true), ("08001", true), ("57P01", true), ("57P02", true), ("57P03", true), ("40001", true),
        ("40P01", true), ("53300", true), ("28P01", false), ("28000", false), ("3D000", false), ("42P01", false),
        ("42703", false), ("42601", false), ("23505", false), ("57014", false),
    ])
    func serverErrorRetriability(sqlState: String, retriable: Bool) {
        #expect(PostgresError.defaultRetriable(code: .serverError, sqlState: sqlState) == retriable)
        #expect(PostgresError(code: .serverError, sqlState: sqlState, message: "x").isRetriable == retriable)
    }

    @Test func codesWithoutSQLState() {
        #expect(PostgresError(code: .connectionLost, message: "x").isRetriable)
        #expect(PostgresError(code: .connectionFailed, message: "x").isRetriable)
        #expect(!PostgresError(code: .serverError, message: "x").isRetriable)
        #expect(!PostgresError(code: .cancelled, message: "x").isRetriable)
        #expect(!PostgresError(code: .connectionFailed, message: "x", isRetriable: false).isRetriable)
    }

    @Test func descriptionCarriesContext() {
        let error = PostgresError(
            code: .serverError, sqlState: "42P01", message: "relation \"nope\" does not exist", detail: "d",
            query: "SELECT *\nFROM nope")
        #expect(error.description == "PostgreSQL serverError [42P01]: relation \"nope\" does not exist (d) — query: SELECT * FROM nope [not retriable]")
    }

    @Test func parametersNeverShowThePassword() {
        var p = Self.parameters
        p.sslRootCert = "/etc/ssl/rds.pem"
        p.timeZone = "UTC"
        #expect(p.description == "postgresql://pinpipe@127.0.0.1:54329/pinterest sslmode=prefer sslrootcert=/etc/ssl/rds.pem timezone=UTC")
        #expect(!"\(p)".contains(p.password))
        #expect(p.endpoint == "127.0.0.1:54329")
        #expect(p.connectTimeout == .seconds(10))
        #expect(p.applicationName == "pinpipe")
    }

    @Test func retryBackoffDoublesUpToTheCap() {
        let policy = RetryPolicy.postgresConnect
        #expect(policy.maxAttempts == 5)
        #expect((1...8).map { policy.backoff.ceiling(afterAttempt: $0) } == [
            .milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(16), .seconds(30), .seconds(30),
        ])
        #expect(policy.delay(afterAttempt: 3, unit: 0) == .seconds(1))
        #expect(policy.delay(afterAttempt: 3, unit: 1) == .seconds(2))
        #expect(policy.delay(afterAttempt: 3, unit: 0.5) == .milliseconds(1500))
        #expect(policy.shouldRetry(afterAttempt: 4))
        #expect(!policy.shouldRetry(afterAttempt: 5))
        let forever = RetryPolicy.postgresConnect.with(maxAttempts: nil)
        #expect(forever.shouldRetry(afterAttempt: 1_000_000))
        #expect(forever.backoff.ceiling(afterAttempt: 1_000_000) == .seconds(30))
    }

    @Test func libraryVersion() {
        #expect(PostgresLibrary.versionString(150018) == "15.18")
        #expect(PostgresLibrary.versionString(90624) == "9.6.24")
        #expect(PostgresLibrary.version.hasPrefix("15."))
        #expect(PostgresLibrary.isThreadSafe)
    }
}
