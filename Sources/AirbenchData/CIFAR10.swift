import Foundation

/// The CIFAR-10 data set: 50,000 training and 10,000 test images of 10 classes in the official files.
public struct CIFAR10: Sendable {
    /// The training images (`data_batch_1.bin` … `data_batch_5.bin`, in file order).
    public var train: ImageSplit
    /// The test images (`test_batch.bin`).
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
    /// Records in each batch file of the official data set (a copy may hold any number: see `load(folder:)`).
    public static let recordsPerFile = 10_000

    /// Creates the data set from its two splits.
    public init(train: ImageSplit, test: ImageSplit) {
        self.train = train
        self.test = test
    }

    /// Reads the six batch files from `folder` (a folder such as `cifar-10-batches-bin/`). Each may hold any
    /// whole number of records, so a subset or a cleaned copy in the official layout reads as it is.
    ///
    /// - Throws: `FormatError` naming the file that is missing, empty, cut off mid-record or holds a bad label.
    public static func load(folder: URL) throws -> CIFAR10 {
        let trainFiles = trainFileNames.map { folder.appendingPathComponent($0) }
        // Sized from the files first, so the training split is built without regrowing 150 MB.
        let trainRecords = try trainFiles.reduce(0) { $0 + (try CIFAR10BatchFile.recordFile.records(in: $1)) }
        var images: [UInt8] = [], labels: [UInt8] = []
        images.reserveCapacity(trainRecords * ImageSplit.bytesPerImage)
        labels.reserveCapacity(trainRecords)
        for file in trainFiles {
            let part = try CIFAR10BatchFile.read(file)
            images += part.images
            labels += part.labels
        }
        let test = try CIFAR10BatchFile.read(folder.appendingPathComponent(testFileName))
        return CIFAR10(train: ImageSplit(images: images, labels: labels), test: test)
    }
}
