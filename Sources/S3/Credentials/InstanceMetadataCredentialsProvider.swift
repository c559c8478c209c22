import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// Credentials of the EC2 instance profile, through IMDSv2: a session token (`PUT /latest/api/token` with
/// `X-aws-ec2-metadata-token-ttl-seconds`), then the role name and its credentials JSON, both read with the
/// token in `X-aws-ec2-metadata-token`.
///
/// Credentials are cached and fetched again `refreshBefore` (5 minutes) ahead of their expiration; a `401`
/// means the token expired, so it is fetched again once. Requests have a short deadline (1 s) so a host that
/// is not on EC2 is not held up. `AWS_EC2_METADATA_DISABLED=true` turns the provider off, and
/// `AWS_EC2_METADATA_SERVICE_ENDPOINT` (or `endpoint`) moves it.
public final class InstanceMetadataCredentialsProvider: AWSCredentialsProvider {
    public static let defaultEndpoint = "http://169.254.169.254"

    public let endpoint: String
    public let isDisabled: Bool
    public let tokenTTL: Duration
    public let timeout: Duration
    public let refreshPolicy: CredentialsRefreshPolicy
    let httpClient: HTTPClient
    let logger: Logger
    let state = State()

    /// - Parameter endpoint: wins over `AWS_EC2_METADATA_SERVICE_ENDPOINT`, which wins over the default.
    public init(
        endpoint: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment,
        httpClient: HTTPClient, logger: Logger, tokenTTL: Duration = .seconds(21_600), timeout: Duration = .seconds(1),
        refreshBefore: Duration = .seconds(300)
    ) {
        var resolved = endpoint ?? environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 }
            ?? Self.defaultEndpoint
        while resolved.hasSuffix("/") { resolved.removeLast() }
        self.endpoint = resolved
        self.isDisabled = environment["AWS_EC2_METADATA_DISABLED"]?.lowercased() == "true"
        self.httpClient = httpClient
        self.logger = logger
        self.tokenTTL = tokenTTL
        self.timeout = timeout
        self.refreshPolicy = CredentialsRefreshPolicy(refreshBefore: refreshBefore)
    }

    public func credentials() async throws(S3Error) -> AWSCredentials {
        if isDisabled {
            throw .credentials("instance metadata", "disabled by AWS_EC2_METADATA_DISABLED=true")
        }
        return try await state.credentials(provider: self)
    }

    /// The mutable part: cached credentials and token, and the fetch in flight (so concurrent callers share it).
    actor State {
        var cached: AWSCredentials?
        var token: (value: String, expires: Date)?
        var everSucceeded = false
        var inFlight: Task<AWSCredentials, any Error>?

        func credentials(provider: InstanceMetadataCredentialsProvider) async throws(S3Error) -> AWSCredentials {
            let now = Date()
            if let cached, !provider.refreshPolicy.needsRefresh(cached, now: now) { return cached }
            let task: Task<AWSCredentials, any Error>
            if let inFlight {
                task = inFlight
            } else {
                task = Task { try await provider.fetch() }
                inFlight = task
            }
            do {
                let fresh = try await task.value
                if inFlight == task { inFlight = nil }
                cached = fresh
                everSucceeded = true
                return fresh
            } catch {
                if inFlight == task { inFlight = nil }
                let failure = error as? S3Error
                    ?? .credentials("instance metadata", "\(error)", retriable: true)
                if let cached, provider.refreshPolicy.isUsable(cached, now: Date()) {
                    provider.logger.warning(
                        "instance profile credentials refresh failed; using the cached ones until they expire",
                        metadata: ["error": "\(failure)"])
                    return cached
                }
                throw failure
            }
        }

        func validToken(now: Date) -> String? {
            guard let token, token.expires.timeIntervalSince(now) > 60 else { return nil }
            return token.value
        }

        func store(token value: String, expires: Date) {
            token = (value, expires)
        }

        func dropToken() {
            token = nil
        }

        func hasSucceeded() -> Bool { everSucceeded }
    }

    // MARK: Fetching

    struct CredentialsDocument: Decodable {
        var Code: String?
        var AccessKeyId: String
        var SecretAccessKey: String
        var Token: String?
        var Expiration: String?
    }

    func fetch() async throws(S3Error) -> AWSCredentials {
        let roleBody = try await getWithToken("/latest/meta-data/iam/security-credentials/", what: "the role name")
        guard let role = String(decoding: roleBody, as: UTF8.self).split(whereSeparator: \.isNewline).first
            .map({ $0.trimmingCharacters(in: .whitespaces) }), !role.isEmpty
        else {
            throw .credentials("instance metadata", "no IAM role is attached to this instance")
        }
        let document = try await getWithToken(
            "/latest/meta-data/iam/security-credentials/" + AWSPercentEncoding.encode(role), what: "the credentials of role \(role)")
        let decoded: CredentialsDocument
        do {
            decoded = try JSONDecoder().decode(CredentialsDocument.self, from: Data(document))
        } catch {
            throw .credentials("instance metadata", "the credentials of role \(role) are not valid JSON: \(error)", retriable: true)
        }
        if let code = decoded.Code, code != "Success" {
            throw .credentials("instance metadata", "role \(role): the metadata service answered Code=\(code)", retriable: true)
        }
        let expiration = decoded.Expiration.flatMap(S3DateParsing.iso8601)
        logger.debug(
            "instance profile credentials fetched",
            metadata: ["aws.role": "\(role)", "aws.access_key_id": "\(decoded.AccessKeyId)",
                       "aws.expiration": "\(expiration.map { "\($0)" } ?? "none")"])
        return AWSCredentials(
            accessKeyID: decoded.AccessKeyId, secretAccessKey: decoded.SecretAccessKey, sessionToken: decoded.Token,
            expiration: expiration)
    }

    /// GET with the session token; on 401 the token is fetched again and the GET repeated once.
    func getWithToken(_ path: String, what: String) async throws(S3Error) -> [UInt8] {
        for attempt in 1...2 {
            let token = try await sessionToken()
            let (status, body) = try await send("GET", path, headers: [("X-aws-ec2-metadata-token", token)])
            switch status {
            case 200: return body
            case 401 where attempt == 1:
                logger.debug("instance metadata token rejected; fetching a new one")
                await state.dropToken()
            case 404:
                throw .credentials("instance metadata", "\(what) is not available (404): is an IAM role attached to this instance?")
            default:
                throw .credentials("instance metadata", "\(what): HTTP \(status)", retriable: status >= 500 || status == 401)
            }
        }
        throw .credentials("instance metadata", "\(what): the metadata service keeps rejecting fresh tokens", retriable: true)
    }

    func sessionToken() async throws(S3Error) -> String {
        if let token = await state.validToken(now: Date()) { return token }
        let seconds = tokenTTL.components.seconds
        let (status, body) = try await send(
            "PUT", "/latest/api/token", headers: [("X-aws-ec2-metadata-token-ttl-seconds", String(seconds))])
        guard status == 200, !body.isEmpty else {
            throw .credentials(
                "instance metadata", "the session token request answered HTTP \(status) (IMDSv2 required)",
                retriable: status >= 500)
        }
        let token = String(decoding: body, as: UTF8.self)
        await state.store(token: token, expires: Date().addingTimeInterval(Double(seconds)))
        return token
    }

    func send(_ method: String, _ path: String, headers: [(String, String)]) async throws(S3Error) -> (Int, [UInt8]) {
        var request = HTTPClientRequest(url: endpoint + path)
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        do {
            let response = try await httpClient.execute(request, timeout: .nanoseconds(timeout.nanoseconds), logger: nil)
            let buffer = try await response.body.collect(upTo: 1 << 20)
            return (Int(response.status.code), Array(buffer.readableBytesView))
        } catch {
            // Unreachable before any success means "not on EC2": not worth retrying. After a success it is a
            // passing fault of the metadata service.
            let retriable = await state.hasSucceeded()
            throw .credentials(
                "instance metadata", "the metadata service at \(endpoint) is not reachable (\(error))", retriable: retriable)
        }
    }
}
