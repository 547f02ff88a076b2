import Foundation

/// What can go wrong while finding, downloading or unpacking a data set: the one error type of AirbenchData.
///
/// Every case names the path, URL or variant involved, so the message alone tells the user what to fix. A file
/// that is found but is not what it should be (missing from its folder, cut off, malformed, a bad label, a broken
/// archive) is the readers' `FormatError`, which names the file; the two are never wrapped in each other.
public enum DataError: Error, CustomStringConvertible, Equatable {
    /// A path the user gave explicitly (with `--data` or `AIRBENCH_DATA`), or the cache, holds no data of the
    /// data set asked for.
    case dataNotFound(path: String, reason: String)
    /// A downloaded file's MD5 digest is not the published one.
    case checksumMismatch(path: String, expected: String, actual: String)
    /// An archive unpacked, but not into the data set's files, or would write outside its folder.
    case badArchive(path: String, reason: String)
    /// An official file could not be downloaded.
    case downloadFailed(url: String, reason: String)
    /// A file or folder could not be read, created, written or renamed.
    case fileSystem(path: String, reason: String)
    /// A data set and a variant that does not exist for it (e.g. coarse labels for SVHN).
    case invalidSelection(String)

    /// What to do when the data cannot be fetched.
    public static let localCopyHint =
        "point --data at a local copy (the folder of the data set's files, or its official archive) or set AIRBENCH_DATA"

    public var description: String {
        switch self {
        case .dataNotFound(let path, let reason):
            return "\(path): \(reason)"
        case .checksumMismatch(let path, let expected, let actual):
            return "\(path): checksum mismatch: expected md5 \(expected), got \(actual)"
        case .badArchive(let path, let reason):
            return "\(path): bad archive: \(reason)"
        case .downloadFailed(let url, let reason):
            return "download of \(url) failed: \(reason); \(Self.localCopyHint)"
        case .fileSystem(let path, let reason):
            return "\(path): \(reason)"
        case .invalidSelection(let reason):
            return reason
        }
    }
}
