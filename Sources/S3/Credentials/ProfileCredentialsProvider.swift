import Foundation

/// Credentials from the AWS shared files: `~/.aws/credentials` (`[name]`) first, then `~/.aws/config`
/// (`[profile name]`, `[default]`). `AWS_SHARED_CREDENTIALS_FILE`, `AWS_CONFIG_FILE` and `AWS_PROFILE`
/// override the paths and the profile name. Errors name the file and the line.
public struct ProfileCredentialsProvider: AWSCredentialsProvider {
    public var profile: String
    public var credentialsFile: String
    public var configFile: String

    public init(profile: String, credentialsFile: String, configFile: String) {
        self.profile = profile
        self.credentialsFile = credentialsFile
        self.configFile = configFile
    }

    /// Paths and profile from the environment (`HOME`, `AWS_SHARED_CREDENTIALS_FILE`, `AWS_CONFIG_FILE`,
    /// `AWS_PROFILE`); an explicit `profile` wins over `AWS_PROFILE`.
    public init(profile: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) {
        let home = environment["HOME"] ?? NSHomeDirectory()
        func path(_ variable: String, _ fallback: String) -> String {
            let value = environment[variable].flatMap { $0.isEmpty ? nil : $0 } ?? fallback
            return value.hasPrefix("~/") ? home + value.dropFirst() : value
        }
        self.init(
            profile: profile ?? environment["AWS_PROFILE"].flatMap { $0.isEmpty ? nil : $0 } ?? "default",
            credentialsFile: path("AWS_SHARED_CREDENTIALS_FILE", home + "/.aws/credentials"),
            configFile: path("AWS_CONFIG_FILE", home + "/.aws/config"))
    }

    public func credentials() async throws(S3Error) -> AWSCredentials {
        try resolve()
    }

    /// The profile's `region` from the config file (or the credentials file), if any.
    public func region() throws(S3Error) -> String? {
        for file in try files() {
            if let region = file.file.sections[profile]?.entries["region"]?.value, !region.isEmpty { return region }
        }
        return nil
    }

    /// The lookup itself, synchronous (the files are small).
    public func resolve() throws(S3Error) -> AWSCredentials {
        let files = try files()
        if files.isEmpty {
            throw .credentials("profile \(profile)", "neither \(credentialsFile) nor \(configFile) exists")
        }
        for (file, _) in files {
            guard let section = file.sections[profile] else { continue }
            guard let accessKey = section.entries["aws_access_key_id"] else {
                if section.entries["aws_secret_access_key"] != nil {
                    throw .credentials(
                        "profile \(profile)",
                        "\(file.path) line \(section.line): profile '\(profile)' has aws_secret_access_key but no aws_access_key_id")
                }
                continue
            }
            guard let secret = section.entries["aws_secret_access_key"], !secret.value.isEmpty else {
                throw .credentials(
                    "profile \(profile)",
                    "\(file.path) line \(accessKey.line): profile '\(profile)' has aws_access_key_id but no aws_secret_access_key")
            }
            if accessKey.value.isEmpty {
                throw .credentials(
                    "profile \(profile)", "\(file.path) line \(accessKey.line): aws_access_key_id is empty")
            }
            let token = section.entries["aws_session_token"]?.value
            return AWSCredentials(
                accessKeyID: accessKey.value, secretAccessKey: secret.value,
                sessionToken: token.flatMap { $0.isEmpty ? nil : $0 })
        }
        let found = files.compactMap { entry in entry.file.sections[profile].map { "\(entry.file.path) line \($0.line)" } }
        if !found.isEmpty {
            throw .credentials(
                "profile \(profile)",
                "profile '\(profile)' (\(found.joined(separator: ", "))) has no aws_access_key_id; "
                    + "role_arn, sso and credential_process profiles are not supported")
        }
        throw .credentials(
            "profile \(profile)",
            "profile '\(profile)' is in neither \(credentialsFile) nor \(configFile)")
    }

    private func files() throws(S3Error) -> [(file: AWSProfileFile, isConfig: Bool)] {
        var files: [(file: AWSProfileFile, isConfig: Bool)] = []
        if let file = try AWSProfileFile.load(path: credentialsFile, isConfigFile: false) { files.append((file, false)) }
        if let file = try AWSProfileFile.load(path: configFile, isConfigFile: true) { files.append((file, true)) }
        return files
    }
}
