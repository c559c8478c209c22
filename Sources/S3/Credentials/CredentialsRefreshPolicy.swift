import Foundation

/// When cached temporary credentials (or an IMDS session token) must be fetched again. Pure.
///
/// - Important: Refreshing happens `refreshBefore` ahead of the expiration, so a request signed with the
///   cached credentials never reaches S3 after they expired; when a refresh fails, credentials that have not
///   expired yet are still used.
public struct CredentialsRefreshPolicy: Sendable, Equatable {
    public var refreshBefore: Duration

    public init(refreshBefore: Duration = .seconds(300)) {
        self.refreshBefore = refreshBefore
    }

    /// True when there is nothing cached, or the cached value expires within `refreshBefore` of `now`.
    public func needsRefresh(expiration: Date?, hasValue: Bool, now: Date) -> Bool {
        guard hasValue else { return true }
        guard let expiration else { return false }
        return expiration.timeIntervalSince(now) <= Double(refreshBefore.components.seconds)
    }

    public func needsRefresh(_ credentials: AWSCredentials?, now: Date) -> Bool {
        needsRefresh(expiration: credentials?.expiration, hasValue: credentials != nil, now: now)
    }

    /// True while the credentials can still sign a request (not expired at `now`).
    public func isUsable(_ credentials: AWSCredentials, now: Date) -> Bool {
        guard let expiration = credentials.expiration else { return true }
        return expiration > now
    }
}
