import Crypto
import Foundation
import Support

/// AWS Signature Version 4 for one set of credentials, region and service. Pure: no I/O, no clock.
///
/// The building blocks (`canonicalRequest`, `stringToSign`, `signingKey`, `signature`) are public so they can
/// be checked one by one against AWS's published vectors: a mismatch then points at the step that is wrong.
///
/// - Important: The canonical URI follows S3's rule: each path segment is percent-encoded once (never
///   double-encoded) and the path is not normalised (`//` and `.` segments are kept as sent).
public struct SigV4Signer: Sendable {
    public var credentials: AWSCredentials
    public var region: String
    public var service: String

    /// SHA-256 of the empty payload.
    public static let emptyPayloadSHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    public static let algorithm = "AWS4-HMAC-SHA256"

    public init(credentials: AWSCredentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// Signs a request and returns the headers to add to it: `Authorization`, `X-Amz-Date`,
    /// `X-Amz-Content-Sha256` and, for temporary credentials, `X-Amz-Security-Token`.
    ///
    /// Every header in `headers` is signed, plus `host` (from the URL, unless given) and the added
    /// `x-amz-*` headers. The caller must send exactly the headers it passed, and a `Host` equal to
    /// ``hostHeader(for:)`` when it passed none.
    public func sign(method: String, url: URL, headers: [(String, String)], payloadSHA256: String, date: Date)
        -> [(String, String)]
    {
        let amzDate = Self.amzDate(date)
        var added: [(String, String)] = [("X-Amz-Date", amzDate), ("X-Amz-Content-Sha256", payloadSHA256)]
        if let token = credentials.sessionToken { added.append(("X-Amz-Security-Token", token)) }
        let ownNames: Set<String> = ["x-amz-date", "x-amz-content-sha256", "x-amz-security-token", "authorization"]
        var signed = headers.filter { !ownNames.contains($0.0.lowercased()) }
        if !signed.contains(where: { $0.0.lowercased() == "host" }) {
            signed.append(("host", Self.hostHeader(for: url)))
        }
        signed.append(contentsOf: added)
        let canonical = canonicalRequest(method: method, url: url, headers: signed, payloadSHA256: payloadSHA256)
        let authorization = authorization(
            signedHeaders: Self.signedHeaders(signed),
            signature: signature(stringToSign: stringToSign(canonicalRequest: canonical, date: date), date: date),
            date: date)
        return [("Authorization", authorization)] + added
    }

    // MARK: Building blocks

    /// The canonical request: method, canonical URI, canonical query, canonical headers, signed headers and
    /// the payload hash, separated by newlines. `headers` must be the complete set of headers to sign.
    public func canonicalRequest(method: String, url: URL, headers: [(String, String)], payloadSHA256: String)
        -> String
    {
        [
            method.uppercased(),
            Self.canonicalURI(url),
            Self.canonicalQuery(url),
            Self.canonicalHeaders(headers),
            Self.signedHeaders(headers),
            payloadSHA256,
        ].joined(separator: "\n")
    }

    /// `AWS4-HMAC-SHA256`, the timestamp, the credential scope and the hash of the canonical request.
    public func stringToSign(canonicalRequest: String, date: Date) -> String {
        [
            Self.algorithm,
            Self.amzDate(date),
            credentialScope(date: date),
            Hex.encode(SHA256.hash(data: Data(canonicalRequest.utf8))),
        ].joined(separator: "\n")
    }

    /// `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, yyyymmdd), region), service), "aws4_request")`.
    public func signingKey(date: Date) -> SymmetricKey {
        func hmac(_ key: SymmetricKey, _ text: String) -> SymmetricKey {
            SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: key))
        }
        let dateKey = hmac(SymmetricKey(data: Data(("AWS4" + credentials.secretAccessKey).utf8)), Self.dateStamp(date))
        return hmac(hmac(hmac(dateKey, region), service), "aws4_request")
    }

    /// The hex HMAC-SHA256 of the string to sign under the signing key.
    public func signature(stringToSign: String, date: Date) -> String {
        Hex.encode(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: signingKey(date: date)))
    }

    /// The `Authorization` header value.
    public func authorization(signedHeaders: String, signature: String, date: Date) -> String {
        "\(Self.algorithm) Credential=\(credentials.accessKeyID)/\(credentialScope(date: date)), "
            + "SignedHeaders=\(signedHeaders), Signature=\(signature)"
    }

    /// `yyyymmdd/region/service/aws4_request`.
    public func credentialScope(date: Date) -> String {
        "\(Self.dateStamp(date))/\(region)/\(service)/aws4_request"
    }

    // MARK: Canonical forms

    /// The URL's path with each segment percent-decoded and re-encoded once; `/` when empty.
    public static func canonicalURI(_ url: URL) -> String {
        let path = URLComponents(url: url, resolvingAgainstBaseURL: true)?.percentEncodedPath ?? url.path
        if path.isEmpty { return "/" }
        return path.split(separator: "/", omittingEmptySubsequences: false)
            .map { AWSPercentEncoding.encode(AWSPercentEncoding.decode($0)) }
            .joined(separator: "/")
    }

    /// The query parameters, each name and value encoded once, sorted by name then value (bytewise).
    public static func canonicalQuery(_ url: URL) -> String {
        guard let query = URLComponents(url: url, resolvingAgainstBaseURL: true)?.percentEncodedQuery,
            !query.isEmpty
        else { return "" }
        let pairs = query.split(separator: "&").map { item -> (String, String) in
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = AWSPercentEncoding.encode(AWSPercentEncoding.decode(parts[0]))
            let value = parts.count > 1 ? AWSPercentEncoding.encode(AWSPercentEncoding.decode(parts[1])) : ""
            return (name, value)
        }
        return pairs.sorted { lhs, rhs in
            lhs.0 == rhs.0 ? Array(lhs.1.utf8).lexicographicallyPrecedes(rhs.1.utf8)
                : Array(lhs.0.utf8).lexicographicallyPrecedes(rhs.0.utf8)
        }
        .map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    /// `name:value\n` per header: names lowercased, values trimmed with inner runs of spaces collapsed,
    /// repeated names joined with `,` in order, sorted by name. Ends with a newline.
    public static func canonicalHeaders(_ headers: [(String, String)]) -> String {
        var merged: [String: [String]] = [:]
        for (name, value) in headers {
            merged[name.lowercased(), default: []].append(normalizeHeaderValue(value))
        }
        return merged.keys.sorted().map { "\($0):\(merged[$0]!.joined(separator: ","))\n" }.joined()
    }

    /// The lowercased header names, sorted and deduplicated, joined with `;`.
    public static func signedHeaders(_ headers: [(String, String)]) -> String {
        Set(headers.map { $0.0.lowercased() }).sorted().joined(separator: ";")
    }

    /// `host[:port]` as an HTTP client sends it (the port only when it is not the scheme's default).
    public static func hostHeader(for url: URL) -> String {
        let host = url.host ?? ""
        guard let port = url.port else { return host }
        let defaultPort = url.scheme?.lowercased() == "https" ? 443 : 80
        return port == defaultPort ? host : "\(host):\(port)"
    }

    /// `yyyyMMdd'T'HHmmss'Z'` in UTC.
    public static func amzDate(_ date: Date) -> String {
        let c = utcComponents(date)
        return pad(c.year, 4) + pad(c.month, 2) + pad(c.day, 2) + "T" + pad(c.hour, 2) + pad(c.minute, 2)
            + pad(c.second, 2) + "Z"
    }

    /// `yyyyMMdd` in UTC.
    public static func dateStamp(_ date: Date) -> String {
        String(amzDate(date).prefix(8))
    }

    private static func normalizeHeaderValue(_ value: String) -> String {
        var out = ""
        var lastWasSpace = false
        for character in value.trimmingCharacters(in: .whitespaces) {
            if character == " " || character == "\t" {
                if !lastWasSpace { out.append(" ") }
                lastWasSpace = true
            } else {
                out.append(character)
                lastWasSpace = false
            }
        }
        return out
    }

    /// The UTC calendar fields of `date` (``CivilDate``: Foundation's `Calendar` would load ICU's time zone data
    /// on the first request, about 3 MB of resident memory for a fixed answer, issue 15).
    static func utcComponents(_ date: Date) -> (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down))
        let (days, secondOfDay) = seconds.quotientAndRemainder(dividingBy: 86_400)
        let (dayNumber, time) = secondOfDay < 0 ? (days - 1, secondOfDay + 86_400) : (days, secondOfDay)
        let (year, month, day) = CivilDate.fromDays(dayNumber)
        return (year, month, day, time / 3_600, time % 3_600 / 60, time % 60)
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
}
