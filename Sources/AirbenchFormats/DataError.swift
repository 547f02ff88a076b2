import Foundation

/// What can go wrong while finding, downloading, unpacking or reading a data set.
///
/// Every case names the file (or URL) involved, so the message alone tells the user what to fix.
public enum DataError: Error, CustomStringConvertible, Equatable {
    /// A required file is not there. `expected` lists the files the folder should hold.
    case missingFile(path: String, expected: [String])
    /// A path the user gave explicitly (with `--data` or `AIRBENCH_DATA`) does not exist or holds no data of the data set asked for.
    case dataNotFound(path: String, reason: String)
    /// A batch file is a whole number of records but not the expected number of them.
    case wrongFileSize(path: String, expected: Int, actual: Int)
    /// A batch file's size is not a multiple of the 3,073-byte record: it was cut off mid-record.
    case truncatedRecord(path: String, recordSize: Int, actual: Int)
    /// A CIFAR-10 record's label byte is not a class index 0–9.
    case invalidLabel(path: String, record: Int, value: UInt8)
    /// A file's MD5 digest is not the published one.
    case checksumMismatch(path: String, expected: String, actual: String)
    /// An archive could not be decompressed or unpacked.
    case badArchive(path: String, reason: String)
    /// An official file could not be downloaded.
    case downloadFailed(url: String, reason: String)
    /// A file or folder could not be read or written.
    case fileSystem(path: String, reason: String)
    /// A data set and a variant that does not exist for it (e.g. coarse labels for SVHN).
    case invalidSelection(String)

    /// What to do when the data cannot be fetched.
    public static let localCopyHint =
        "point --data at a local copy (the folder of the data set's files, or its official archive) or set AIRBENCH_DATA"

    public var description: String {
        switch self {
        case .missingFile(let path, let expected):
            return "\(path): file not found; the folder must hold \(expected.joined(separator: ", "))"
        case .dataNotFound(let path, let reason):
            return "\(path): \(reason)"
        case .wrongFileSize(let path, let expected, let actual):
            return "\(path): wrong file size: expected \(expected) bytes, found \(actual)"
        case .truncatedRecord(let path, let recordSize, let actual):
            return "\(path): truncated record: \(actual) bytes is not a multiple of the \(recordSize)-byte record"
        case .invalidLabel(let path, let record, let value):
            return "\(path): record \(record) has label \(value), expected 0–9"
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
