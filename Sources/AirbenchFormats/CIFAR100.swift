import Foundation

/// The CIFAR-100 data set as its binary version ships it (`cifar-100-binary/train.bin` and `test.bin`):
/// 50,000 training and 10,000 test images in the official files, each with a fine label (100 classes) and a
/// coarse label (20 superclasses).
///
/// The engine trains on it as `Dataset` (`DatasetSelection(.cifar100)`, fine or coarse labels).
public struct CIFAR100: Sendable {
    /// The training images (`train.bin`).
    public var train: CIFAR100Split
    /// The test images (`test.bin`).
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
    /// Records in the official training file (a copy may hold any number: see `load(folder:)`).
    public static let trainRecords = 50_000
    /// Records in the official test file.
    public static let testRecords = 10_000

    /// Creates the data set from its two splits.
    public init(train: CIFAR100Split, test: CIFAR100Split) {
        self.train = train
        self.test = test
    }

    /// Reads `train.bin` and `test.bin` from `folder` (a folder such as `cifar-100-binary/`). Each may hold any
    /// whole number of records, so a subset or a cleaned copy in the official layout reads as it is.
    ///
    /// - Throws: `FormatError` naming the file that is missing, empty, cut off mid-record or holds a bad label.
    public static func load(folder: URL) throws -> CIFAR100 {
        CIFAR100(
            train: try CIFAR100BinaryFile.read(folder.appendingPathComponent(trainFileName)),
            test: try CIFAR100BinaryFile.read(folder.appendingPathComponent(testFileName)))
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

/// The binary-version file: records of the coarse label byte, the fine label byte, then the R, G and B
/// planes (32 × 32 each).
package enum CIFAR100BinaryFile {
    /// Bytes per record: two labels and 3,072 pixel bytes.
    package static let recordSize = 2 + ImageSplit.bytesPerImage

    /// `train.bin` and `test.bin` as record files.
    package static let recordFile = RecordFile(
        recordSize: recordSize, dataSet: "CIFAR-100", fileNames: [CIFAR100.trainFileName, CIFAR100.testFileName])

    /// Reads one file, converting planar RGB to interleaved NHWC.
    ///
    /// - Throws: `FormatError` naming the file when it is missing, unreadable, empty, cut off mid-record or holds
    ///   a label out of range.
    package static func read(_ file: URL) throws -> CIFAR100Split {
        try recordFile.read(file, parse: parse)
    }

    /// Parses the bytes of a file; `path` names it in errors.
    ///
    /// - Throws: `FormatError` when the bytes are empty, not whole records or hold a label out of range.
    package static func parse(_ source: UnsafeRawBufferPointer, path: String) throws -> CIFAR100Split {
        let records = try recordFile.records(size: source.count, file: path)
        var images = [UInt8](repeating: 0, count: records * ImageSplit.bytesPerImage)
        var fine = [UInt8](repeating: 0, count: records)
        var coarse = [UInt8](repeating: 0, count: records)
        func invalid(_ record: Int, _ label: String, _ value: UInt8, classCount: Int) -> FormatError {
            FormatError(file: path, kind: .invalidLabel(record: record, label: label, value: value, classCount: classCount))
        }
        try images.withUnsafeMutableBufferPointer { destination in
            for record in 0 ..< records {
                let base = record * recordSize
                coarse[record] = source[base]
                fine[record] = source[base + 1]
                guard coarse[record] < CIFAR100.coarseClassCount else {
                    throw invalid(record, "coarse label", coarse[record], classCount: CIFAR100.coarseClassCount)
                }
                guard fine[record] < CIFAR100.fineClassCount else {
                    throw invalid(record, "fine label", fine[record], classCount: CIFAR100.fineClassCount)
                }
                CIFAR10BatchFile.interleave(
                    planes: source, at: base + 2, into: destination, at: record * ImageSplit.bytesPerImage)
            }
        }
        return CIFAR100Split(images: images, fineLabels: fine, coarseLabels: coarse)
    }
}
