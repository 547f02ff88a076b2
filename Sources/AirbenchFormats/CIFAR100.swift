import Foundation

/// The CIFAR-100 data set as its binary version ships it (`cifar-100-binary/train.bin` and `test.bin`):
/// 50,000 training and 10,000 test images, each with a fine label (100 classes) and a coarse label
/// (20 superclasses).
///
/// The engine trains on it as `Dataset` (`DatasetSelection(.cifar100)`, fine or coarse labels).
public struct CIFAR100: Sendable {
    /// The 50,000 training images (`train.bin`).
    public var train: CIFAR100Split
    /// The 10,000 test images (`test.bin`).
    public var test: CIFAR100Split

    /// Fine labels are 0 ..< 100.
    public static let fineClassCount = 100
    /// Coarse labels (superclasses) are 0 ..< 20.
    public static let coarseClassCount = 20
    /// Name of the folder the official archive unpacks to.
    public static let folderName = "cifar-100-binary"
    /// Name of the training file of the binary version.
    public static let trainFileName = "train.bin"
    /// Name of the test file of the binary version.
    public static let testFileName = "test.bin"
    /// Records in the real training file.
    public static let trainRecords = 50_000
    /// Records in the real test file.
    public static let testRecords = 10_000

    /// Creates the data set from its two splits.
    public init(train: CIFAR100Split, test: CIFAR100Split) {
        self.train = train
        self.test = test
    }

    /// Reads `train.bin` and `test.bin` from `folder` (a folder such as `cifar-100-binary/`).
    ///
    /// - Throws: `CIFAR100Error` naming the file that is missing, has the wrong size or holds a bad label.
    public static func load(folder: URL) throws -> CIFAR100 {
        try load(folder: folder, trainRecords: trainRecords, testRecords: testRecords)
    }

    /// `load(folder:)` with other record counts, so tests can use small files.
    package static func load(folder: URL, trainRecords: Int, testRecords: Int) throws -> CIFAR100 {
        CIFAR100(
            train: try CIFAR100BinaryFile.read(folder.appendingPathComponent(trainFileName), records: trainRecords),
            test: try CIFAR100BinaryFile.read(folder.appendingPathComponent(testFileName), records: testRecords))
    }
}

/// One half of CIFAR-100: NHWC image bytes with their fine and coarse labels.
public struct CIFAR100Split: Sendable {
    /// `count × 32 × 32 × 3` bytes, NHWC, as in `ImageSplit`.
    public var images: [UInt8]
    /// One class index 0–99 per image.
    public var fineLabels: [UInt8]
    /// One superclass index 0–19 per image.
    public var coarseLabels: [UInt8]
    /// Number of images.
    public var count: Int

    /// Creates a split; the sizes must agree.
    public init(images: [UInt8], fineLabels: [UInt8], coarseLabels: [UInt8]) {
        precondition(fineLabels.count == coarseLabels.count, "\(fineLabels.count) fine labels but \(coarseLabels.count) coarse labels")
        precondition(
            images.count == fineLabels.count * ImageSplit.bytesPerImage,
            "\(images.count) image bytes do not hold \(fineLabels.count) images of \(ImageSplit.bytesPerImage) bytes")
        self.images = images
        self.fineLabels = fineLabels
        self.coarseLabels = coarseLabels
        self.count = fineLabels.count
    }
}

/// What can go wrong reading CIFAR-100; every case names the file.
public enum CIFAR100Error: Error, CustomStringConvertible, Equatable {
    /// Which of a record's two labels.
    public enum LabelKind: String, Sendable {
        case coarse, fine
    }

    /// A required file is not there.
    case missingFile(path: String, expected: [String])
    /// The file is a whole number of records but not the expected number of them.
    case wrongFileSize(path: String, expected: Int, actual: Int)
    /// The file's size is not a multiple of the 3,074-byte record: it was cut off mid-record.
    case truncatedRecord(path: String, recordSize: Int, actual: Int)
    /// A label byte is out of range (fine 0–99, coarse 0–19).
    case invalidLabel(path: String, record: Int, kind: LabelKind, value: UInt8)
    /// The file could not be read.
    case fileSystem(path: String, reason: String)

    public var description: String {
        switch self {
        case .missingFile(let path, let expected):
            return "\(path): file not found; a CIFAR-100 folder must hold \(expected.joined(separator: ", "))"
        case .wrongFileSize(let path, let expected, let actual):
            return "\(path): wrong file size: expected \(expected) bytes, found \(actual)"
        case .truncatedRecord(let path, let recordSize, let actual):
            return "\(path): truncated record: \(actual) bytes is not a multiple of the \(recordSize)-byte record"
        case .invalidLabel(let path, let record, let kind, let value):
            let limit = kind == .fine ? CIFAR100.fineClassCount : CIFAR100.coarseClassCount
            return "\(path): record \(record) has \(kind.rawValue) label \(value), expected 0–\(limit - 1)"
        case .fileSystem(let path, let reason):
            return "\(path): \(reason)"
        }
    }
}

/// The binary-version file: records of the coarse label byte, the fine label byte, then the R, G and B
/// planes (32 × 32 each).
package enum CIFAR100BinaryFile {
    /// Bytes per record: two labels and 3,072 pixel bytes.
    package static let recordSize = 2 + ImageSplit.bytesPerImage

    /// Reads one file of exactly `records` records, converting planar RGB to interleaved NHWC.
    ///
    /// - Throws: `CIFAR100Error.missingFile`, `.truncatedRecord`, `.wrongFileSize`, `.invalidLabel` or `.fileSystem`.
    package static func read(_ file: URL, records: Int) throws -> CIFAR100Split {
        let path = file.path
        guard FileManager.default.fileExists(atPath: path) else {
            throw CIFAR100Error.missingFile(path: path, expected: [CIFAR100.trainFileName, CIFAR100.testFileName])
        }
        let data: Data
        do {
            data = try Data(contentsOf: file, options: .mappedIfSafe)
        } catch {
            throw CIFAR100Error.fileSystem(path: path, reason: "cannot read: \(error.localizedDescription)")
        }
        return try data.withUnsafeBytes { try parse($0, path: path, records: records) }
    }

    /// Parses the bytes of a file that must hold exactly `records` records; `path` names it in errors.
    ///
    /// - Throws: `CIFAR100Error.truncatedRecord`, `.wrongFileSize` or `.invalidLabel`.
    package static func parse(_ source: UnsafeRawBufferPointer, path: String, records: Int) throws -> CIFAR100Split {
        guard source.count % recordSize == 0 else {
            throw CIFAR100Error.truncatedRecord(path: path, recordSize: recordSize, actual: source.count)
        }
        guard source.count == records * recordSize else {
            throw CIFAR100Error.wrongFileSize(path: path, expected: records * recordSize, actual: source.count)
        }
        var images = [UInt8](repeating: 0, count: records * ImageSplit.bytesPerImage)
        var fine = [UInt8](repeating: 0, count: records)
        var coarse = [UInt8](repeating: 0, count: records)
        try images.withUnsafeMutableBufferPointer { destination in
            for record in 0 ..< records {
                let base = record * recordSize
                coarse[record] = source[base]
                fine[record] = source[base + 1]
                guard coarse[record] < CIFAR100.coarseClassCount else {
                    throw CIFAR100Error.invalidLabel(path: path, record: record, kind: .coarse, value: coarse[record])
                }
                guard fine[record] < CIFAR100.fineClassCount else {
                    throw CIFAR100Error.invalidLabel(path: path, record: record, kind: .fine, value: fine[record])
                }
                CIFAR10BatchFile.interleave(
                    planes: source, at: base + 2, into: destination, at: record * ImageSplit.bytesPerImage)
            }
        }
        return CIFAR100Split(images: images, fineLabels: fine, coarseLabels: coarse)
    }
}
