import Foundation

/// A file of fixed-size records, as CIFAR-10's batch files and CIFAR-100's two files are.
///
/// Any whole number of records, at least one, is a well-formed file: the official files hold 10,000 or 50,000,
/// a subset or a cleaned copy holds what it holds. A size that is not a multiple of the record is a file cut
/// off mid-record, and an empty file is what an interrupted copy leaves behind: both are errors naming the file.
package struct RecordFile: Sendable {
    /// Bytes per record.
    package var recordSize: Int
    /// The data set, for messages ("CIFAR-10").
    package var dataSet: String
    /// The files a folder of the data set holds, for the message about a missing one.
    package var fileNames: [String]

    /// The number of records `file` holds, from its size alone: cheap enough to check every candidate folder
    /// while looking for the data.
    ///
    /// - Throws: `FormatError` when the file is missing, empty or cut off mid-record.
    package func records(in file: URL) throws -> Int {
        // Symbolic links are followed: a folder of links to the files is a folder of the files.
        let attributes = try? FileManager.default.attributesOfItem(atPath: file.resolvingSymlinksInPath().path)
        guard let size = attributes?[.size] as? Int, attributes?[.type] as? FileAttributeType == .typeRegular else {
            throw FormatError(file: file.path, kind: .missingFile(dataSet: dataSet, expected: fileNames))
        }
        return try records(size: size, file: file.path)
    }

    /// The number of records in `size` bytes of `file`.
    ///
    /// - Throws: `FormatError` when the size is zero or not a multiple of the record.
    package func records(size: Int, file: String) throws -> Int {
        guard size % recordSize == 0 else {
            throw FormatError(file: file, kind: .truncatedRecord(recordSize: recordSize, size: size))
        }
        guard size > 0 else { throw FormatError(file: file, kind: .noImages) }
        return size / recordSize
    }

    /// Maps `file` into memory and hands its bytes and its path to `parse`.
    ///
    /// - Throws: `FormatError` when the file is missing or cannot be read; or what `parse` throws.
    package func read<Result>(
        _ file: URL, parse: (UnsafeRawBufferPointer, String) throws -> Result
    ) throws -> Result {
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw FormatError(file: file.path, kind: .missingFile(dataSet: dataSet, expected: fileNames))
        }
        let data = try readFile(file, options: .mappedIfSafe)
        return try data.withUnsafeBytes { try parse($0, file.path) }
    }

    /// Throws the error reading `folder` would give for a missing, empty or cut-off file, by the files' sizes.
    package func checkFolder(_ folder: URL) throws {
        for name in fileNames { _ = try records(in: folder.appendingPathComponent(name)) }
    }
}
