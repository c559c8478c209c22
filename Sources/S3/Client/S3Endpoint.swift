import Foundation

/// Where requests for a bucket and key go: the URL, path-style or virtual-host style. Pure.
public struct S3Endpoint: Sendable, Equatable {
    public var scheme: String
    public var host: String
    public var port: Int?
    /// A path prefix of the endpoint (usually empty), without a trailing slash.
    public var basePath: String
    public var pathStyle: Bool

    /// The endpoint for a configuration: its `endpoint` URL, or AWS's regional endpoint.
    public init(configuration: S3Configuration) throws(S3Error) {
        guard let endpoint = configuration.endpoint else {
            self.init(scheme: "https", host: "s3.\(configuration.region).amazonaws.com", port: nil, basePath: "",
                      pathStyle: configuration.pathStyle)
            return
        }
        guard let url = URL(string: endpoint), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host, !host.isEmpty
        else {
            throw S3Error(
                code: .invalidConfiguration, operation: "Configure",
                message: "endpoint '\(endpoint)' is not an http(s) URL such as http://127.0.0.1:8333")
        }
        var basePath = URLComponents(url: url, resolvingAgainstBaseURL: false)?.percentEncodedPath ?? ""
        while basePath.hasSuffix("/") { basePath.removeLast() }
        self.init(scheme: scheme, host: host, port: url.port, basePath: basePath, pathStyle: configuration.pathStyle)
    }

    public init(scheme: String, host: String, port: Int?, basePath: String, pathStyle: Bool) {
        self.scheme = scheme
        self.host = host
        self.port = port
        self.basePath = basePath
        self.pathStyle = pathStyle
    }

    /// The URL of a request on `bucket` (nil: the service itself) and `key`, with the query items in the
    /// given order; names and values are percent-encoded once, an empty value is sent as a bare name.
    /// A key is used exactly as given (a leading `/` would be part of the key).
    public func url(bucket: String?, key: String? = nil, query: [(String, String)] = []) -> URL {
        var host = self.host
        var path = basePath
        if let bucket {
            if usesPathStyle(for: bucket) {
                path += "/" + AWSPercentEncoding.encode(bucket)
            } else {
                host = bucket + "." + host
            }
        }
        if let key {
            path += "/" + AWSPercentEncoding.encode(key, keepSlash: true)
        } else if path.isEmpty || !(bucket.map(usesPathStyle(for:)) ?? false) {
            path += "/"  // a bucket-level request in path style is `/<bucket>`, as AWS SDKs send it
        }
        var text = scheme + "://" + host
        if let port { text += ":\(port)" }
        text += path
        if !query.isEmpty {
            text += "?" + query.map { name, value in
                value.isEmpty ? AWSPercentEncoding.encode(name)
                    : AWSPercentEncoding.encode(name) + "=" + AWSPercentEncoding.encode(value)
            }.joined(separator: "&")
        }
        // Every character is either unreserved or percent-encoded, so the text is always a valid URL.
        return URL(string: text)!
    }

    /// Path style when configured, and for bucket names a virtual host cannot carry (dots, upper case).
    public func usesPathStyle(for bucket: String) -> Bool {
        pathStyle || bucket.contains(".") || bucket != bucket.lowercased()
    }
}
