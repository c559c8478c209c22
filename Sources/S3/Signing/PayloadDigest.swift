import CChecksum
import Crypto
import Foundation

/// The digests an S3 request carries: SHA-256 (hex) for `x-amz-content-sha256`, and MD5 (base64) for
/// `Content-MD5` or CRC-32C (base64) for `x-amz-checksum-crc32c`. All read the caller's bytes in place.
public enum PayloadDigest {
    public static func sha256Hex(_ bytes: ArraySlice<UInt8>) -> String { bytes.withUnsafeBytes { sha256Hex($0) } }
    public static func md5Base64(_ bytes: ArraySlice<UInt8>) -> String { bytes.withUnsafeBytes { md5Base64($0) } }

    /// Lowercase hex SHA-256 of `bytes`.
    public static func sha256Hex(_ bytes: UnsafeRawBufferPointer) -> String {
        var hasher = SHA256()
        hasher.update(bufferPointer: bytes)
        return Hex.encode(hasher.finalize())
    }

    /// Base64 MD5 of `bytes`, as `Content-MD5` wants it.
    public static func md5Base64(_ bytes: UnsafeRawBufferPointer) -> String {
        var hasher = Insecure.MD5()
        hasher.update(bufferPointer: bytes)
        return Data(hasher.finalize()).base64EncodedString()
    }

    /// Base64 of the big-endian CRC-32C of `bytes`, as `x-amz-checksum-crc32c` wants it.
    public static func crc32cBase64(_ bytes: UnsafeRawBufferPointer) -> String {
        let crc = pinpipe_crc32c(0, bytes.baseAddress, bytes.count)
        return Data([UInt8(crc >> 24), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc & 0xFF)])
            .base64EncodedString()
    }

    public static func crc32cBase64(_ bytes: [UInt8]) -> String { bytes.withUnsafeBytes { crc32cBase64($0) } }

    public static func sha256Hex(_ bytes: [UInt8]) -> String { sha256Hex(bytes[...]) }
    public static func md5Base64(_ bytes: [UInt8]) -> String { md5Base64(bytes[...]) }
}
