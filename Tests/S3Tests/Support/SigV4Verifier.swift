import Foundation

@testable import S3

/// Checks a request as a server receives it: recomputes the SigV4 signature from what came over the wire
/// (method, URI, the headers named in SignedHeaders, the declared payload hash) with the secret the server
/// knows, and checks that the payload hash matches the body. Returns nil when valid, else the reason.
enum SigV4Verifier {
    static func verify(_ request: FakeHTTPRequest, secrets: [String: String]) -> String? {
        guard let authorization = request.header("Authorization"),
            authorization.hasPrefix("AWS4-HMAC-SHA256 ")
        else { return "no SigV4 Authorization header" }
        var fields: [String: String] = [:]
        for part in authorization.dropFirst("AWS4-HMAC-SHA256 ".count).split(separator: ",") {
            let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if pair.count == 2 { fields[String(pair[0])] = String(pair[1]) }
        }
        guard let credential = fields["Credential"], let signedHeaders = fields["SignedHeaders"],
            let signature = fields["Signature"]
        else { return "malformed Authorization" }
        let scope = credential.split(separator: "/").map(String.init)
        guard scope.count == 5, let secret = secrets[scope[0]] else { return "unknown access key" }
        guard let payloadHash = request.header("x-amz-content-sha256"),
            payloadHash == PayloadDigest.sha256Hex(request.body)
        else { return "payload hash does not match the body" }
        guard let amzDate = request.header("x-amz-date"), let date = parseAmzDate(amzDate) else { return "no x-amz-date" }
        let names = signedHeaders.split(separator: ";").map(String.init)
        let headers = names.map { name in
            (name, request.headers.filter { $0.0.lowercased() == name }.map(\.1).joined(separator: ","))
        }
        guard let host = request.header("host"), let url = URL(string: "http://\(host)\(request.uri)") else {
            return "no host"
        }
        let signer = SigV4Signer(
            credentials: AWSCredentials(accessKeyID: scope[0], secretAccessKey: secret), region: scope[2], service: scope[3])
        let canonical = signer.canonicalRequest(method: request.method, url: url, headers: headers, payloadSHA256: payloadHash)
        let expected = signer.signature(stringToSign: signer.stringToSign(canonicalRequest: canonical, date: date), date: date)
        return expected == signature ? nil : "signature mismatch"
    }

    static func parseAmzDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.date(from: text)
    }
}
