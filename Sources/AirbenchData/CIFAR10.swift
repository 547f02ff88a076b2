import Foundation

/// The CIFAR-10 data set: 50,000 training and 10,000 test images of 10 classes.
public struct CIFAR10: Sendable {
    /// The 50,000 training images (`data_batch_1.bin` … `data_batch_5.bin`, in file order).
    public var train: ImageSplit
    /// The 10,000 test images (`test_batch.bin`).
    public var test: ImageSplit

    /// Class names in label order.
    public static let classNames = [
        "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
    ]

    /// Names of the five training batch files of the binary version.
    public static let trainFileNames = CIFAR10BatchFile.trainFileNames
    /// Name of the test batch file of the binary version.
    public static let testFileName = CIFAR10BatchFile.testFileName
    /// All six batch files a CIFAR-10 folder must hold.
    public static let batchFileNames = CIFAR10BatchFile.fileNames
    /// Name of the folder the official archive unpacks to.
    public static let batchFolderName = "cifar-10-batches-bin"
    /// Records in every batch file of the real data set.
    public static let recordsPerFile = 10_000

    /// Creates the data set from its two splits.
    public init(train: ImageSplit, test: ImageSplit) {
        self.train = train
        self.test = test
    }

    /// Reads the six batch files from `folder` (a folder such as `cifar-10-batches-bin/`).
    ///
    /// - Throws: `DataError` naming the file that is missing, has the wrong size or holds a bad label.
    public static func load(folder: URL) throws -> CIFAR10 {
        try load(folder: folder, recordsPerFile: recordsPerFile)
    }

    /// `load(folder:)` with a different record count per file, so tests can use small files.
    package static func load(folder: URL, recordsPerFile: Int) throws -> CIFAR10 {
        var trainImages: [UInt8] = []
        var trainLabels: [UInt8] = []
        trainImages.reserveCapacity(trainFileNames.count * recordsPerFile * ImageSplit.bytesPerImage)
        for name in trainFileNames {
            let part = try CIFAR10BatchFile.read(folder.appendingPathComponent(name), records: recordsPerFile)
            trainImages.append(contentsOf: part.images)
            trainLabels.append(contentsOf: part.labels)
        }
        let test = try CIFAR10BatchFile.read(folder.appendingPathComponent(testFileName), records: recordsPerFile)
        return CIFAR10(train: ImageSplit(images: trainImages, labels: trainLabels), test: test)
    }
}
