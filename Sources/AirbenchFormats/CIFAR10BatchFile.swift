import Foundation

/// The binary-version batch file: records of one label byte then the R, G and B planes (32 × 32 each).
///
/// A CIFAR-10 folder holds the six files by their official names; each may hold any whole number of records
/// (10,000 in the official files), so a subset or a cleaned copy in the same layout reads as it is.
package enum CIFAR10BatchFile {
    /// Names of the five training batch files of the binary version.
    package static let trainFileNames = (1 ... 5).map { "data_batch_\($0).bin" }
    /// Name of the test batch file of the binary version.
    package static let testFileName = "test_batch.bin"
    /// All six batch files a CIFAR-10 folder must hold.
    package static let fileNames = trainFileNames + [testFileName]
    /// Labels are class indices below this.
    package static let classCount = 10

    /// Bytes per record: the label and 3,072 pixel bytes.
    package static let recordSize = 1 + ImageSplit.bytesPerImage

    /// The six files as record files.
    package static let recordFile = RecordFile(recordSize: recordSize, dataSet: "CIFAR-10", fileNames: fileNames)

    /// Reads one batch file, converting planar RGB to interleaved NHWC.
    ///
    /// - Throws: `FormatError` naming the file when it is missing, unreadable, empty, cut off mid-record or
    ///   holds a label above 9.
    package static func read(_ file: URL) throws -> ImageSplit {
        try recordFile.read(file, parse: parse)
    }

    /// Parses the bytes of a batch file; `path` names it in errors.
    ///
    /// - Throws: `FormatError` when the bytes are empty, not whole records or hold a label above 9.
    package static func parse(_ source: UnsafeRawBufferPointer, path: String) throws -> ImageSplit {
        let records = try recordFile.records(size: source.count, file: path)
        var images = [UInt8](repeating: 0, count: records * ImageSplit.bytesPerImage)
        var labels = [UInt8](repeating: 0, count: records)
        try images.withUnsafeMutableBufferPointer { destination in
            for record in 0 ..< records {
                let base = record * recordSize
                let label = source[base]
                guard label < classCount else {
                    throw FormatError(
                        file: path, kind: .invalidLabel(record: record, label: "label", value: label, classCount: classCount))
                }
                labels[record] = label
                interleave(planes: source, at: base + 1, into: destination, at: record * ImageSplit.bytesPerImage)
            }
        }
        return ImageSplit(images: images, labels: labels)
    }

    /// Copies one image stored as R, G and B planes (32 × 32 each) starting at `start` into interleaved
    /// RGB pixels starting at `out` (CIFAR-10 and CIFAR-100 share this layout).
    package static func interleave(
        planes source: UnsafeRawBufferPointer, at start: Int, into destination: UnsafeMutableBufferPointer<UInt8>, at out: Int
    ) {
        let planeSize = ImageSplit.imageSide * ImageSplit.imageSide
        let green = start + planeSize
        let blue = green + planeSize
        var out = out
        for pixel in 0 ..< planeSize {
            destination[out] = source[start + pixel]
            destination[out + 1] = source[green + pixel]
            destination[out + 2] = source[blue + pixel]
            out += 3
        }
    }
}
