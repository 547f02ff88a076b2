import Foundation

/// The binary-version batch file: records of one label byte then the R, G and B planes (32 × 32 each).
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

    /// The size a batch file of `records` records must have.
    package static func expectedSize(records: Int) -> Int { records * recordSize }

    /// Reads one batch file, converting planar RGB to interleaved NHWC.
    ///
    /// - Throws: `DataError.missingFile`, `.truncatedRecord`, `.wrongFileSize` or `.invalidLabel`.
    package static func read(_ file: URL, records: Int) throws -> ImageSplit {
        let path = file.path
        guard FileManager.default.fileExists(atPath: path) else {
            throw DataError.missingFile(path: path, expected: fileNames)
        }
        let data: Data
        do {
            data = try Data(contentsOf: file, options: .mappedIfSafe)
        } catch {
            throw DataError.fileSystem(path: path, reason: "cannot read: \(error.localizedDescription)")
        }
        return try data.withUnsafeBytes { try parse($0, path: path, records: records) }
    }

    /// Parses the bytes of a batch file that must hold exactly `records` records; `path` names it in errors.
    ///
    /// - Throws: `DataError.truncatedRecord`, `.wrongFileSize` or `.invalidLabel`.
    package static func parse(_ source: UnsafeRawBufferPointer, path: String, records: Int) throws -> ImageSplit {
        guard source.count % recordSize == 0 else {
            throw DataError.truncatedRecord(path: path, recordSize: recordSize, actual: source.count)
        }
        guard source.count == expectedSize(records: records) else {
            throw DataError.wrongFileSize(path: path, expected: expectedSize(records: records), actual: source.count)
        }
        var images = [UInt8](repeating: 0, count: records * ImageSplit.bytesPerImage)
        var labels = [UInt8](repeating: 0, count: records)
        try images.withUnsafeMutableBufferPointer { destination in
            for record in 0 ..< records {
                let base = record * recordSize
                let label = source[base]
                guard label < classCount else {
                    throw DataError.invalidLabel(path: path, record: record, value: label)
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

    /// Whether `folder` holds all six batch files, each of the expected size.
    package static func folderIsComplete(_ folder: URL, records: Int) -> Bool {
        fileNames.allSatisfy { name in
            let path = folder.appendingPathComponent(name).path
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
            return size == expectedSize(records: records)
        }
    }
}
