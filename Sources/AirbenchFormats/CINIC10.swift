import Foundation

/// CINIC-10 (Darlow et al., 2018): CIFAR-10's classes with images from CIFAR-10 and downsampled
/// ImageNet, as the official archive unpacks: `train/`, `valid/` and `test/`, each with one folder per
/// class (`airplane` … `truck`) of 32 × 32 PNG files; 9,000 images per class and split in the official copy.
///
/// Images come out as `ImageSplit` (NHWC bytes), class by class in label order and, within a class,
/// by file name (the engine's `Dataset` interleaves the training images by class).
public struct CINIC10: Sendable {
    public var train: ImageSplit
    public var valid: ImageSplit
    public var test: ImageSplit

    /// The training and validation images together, as CINIC-10 is often used (180,000 images).
    public var trainAndValid: ImageSplit { train.appending(valid) }

    /// Class folder names in label order (CIFAR-10's classes and order).
    public static let classNames = [
        "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
    ]
    /// The split folders.
    public static let splitNames = ["train", "valid", "test"]
    /// Images per class in each split of the official copy (a copy may hold any number: see `load(folder:)`).
    public static let imagesPerClass = 9_000
    /// The official archive, which unpacks to `train/`, `valid/` and `test/` (and a few text files).
    public static let archive = DataSetFile(
        name: "CINIC-10.tar.gz", url: "https://datashare.ed.ac.uk/bitstream/handle/10283/3192/CINIC-10.tar.gz",
        md5: "6ee4d0c996905fe93221de577967a372", images: 270_000)

    public init(train: ImageSplit, valid: ImageSplit, test: ImageSplit) {
        self.train = train
        self.valid = valid
        self.test = test
    }

    /// Reads the three splits from `folder` (the folder holding `train/`, `valid/` and `test/`). A class
    /// folder may hold any number of images but none, so a subset or a cleaned copy reads as it is.
    ///
    /// - Throws: `FormatError` naming the folder or file that is missing, empty, unexpected or not a
    ///   readable 32 × 32 PNG.
    public static func load(folder: URL) throws -> CINIC10 {
        CINIC10(
            train: try readSplit(folder.appendingPathComponent("train")),
            valid: try readSplit(folder.appendingPathComponent("valid")),
            test: try readSplit(folder.appendingPathComponent("test")))
    }

    /// Throws the error naming the first split or class folder that `folder` lacks.
    package static func checkFolder(_ folder: URL) throws {
        for split in splitNames {
            let splitFolder = folder.appendingPathComponent(split)
            try checkIsFolder(splitFolder, expected: splitNames)
            for name in classNames { try checkIsFolder(splitFolder.appendingPathComponent(name), expected: classNames) }
        }
    }

    /// Reads one split folder: ten class folders of PNG files. Hidden files (names starting with ".")
    /// are ignored; any other file that is not `.png`, any folder inside a class folder, and a class
    /// folder without images are errors.
    package static func readSplit(_ split: URL) throws -> ImageSplit {
        try checkIsFolder(split, expected: splitNames)
        var images: [UInt8] = []
        var labels: [UInt8] = []
        for (label, className) in classNames.enumerated() {
            let classFolder = split.appendingPathComponent(className)
            try checkIsFolder(classFolder, expected: classNames)
            let names: [String]
            do {
                names = try FileManager.default.contentsOfDirectory(atPath: classFolder.path)
                    .filter { !$0.hasPrefix(".") }
                    .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            } catch {
                throw FormatError(file: classFolder.path, kind: .fileSystem(reason: "cannot list: \(fileSystemReason(error))"))
            }
            // An empty class folder is what an interrupted copy leaves, not a subset: a class without images
            // cannot be learnt or tested.
            guard !names.isEmpty else { throw FormatError(file: classFolder.path, kind: .noImages) }
            images.reserveCapacity(images.count + names.count * ImageSplit.bytesPerImage)
            for name in names {
                let file = classFolder.appendingPathComponent(name)
                guard name.lowercased().hasSuffix(".png") else {
                    throw FormatError(file: file.path, kind: .unexpectedEntry(reason: "not a .png file"))
                }
                var isFolder: ObjCBool = false
                guard FileManager.default.fileExists(atPath: file.path, isDirectory: &isFolder), !isFolder.boolValue else {
                    throw FormatError(file: file.path, kind: .unexpectedEntry(reason: "a folder inside a class folder"))
                }
                images += try readImage(file)
                labels.append(UInt8(label))
            }
        }
        return ImageSplit(images: images, labels: labels)
    }

    /// One PNG file as 32 × 32 RGB bytes.
    package static func readImage(_ file: URL) throws -> [UInt8] {
        let data = try readFile(file)
        return try data.withUnsafeBytes { try parseImage($0, path: file.path) }
    }

    /// The bytes of one PNG file as 32 × 32 RGB bytes; `path` names it in errors.
    package static func parseImage(_ bytes: UnsafeRawBufferPointer, path: String) throws -> [UInt8] {
        let image = try PNG.decode(bytes, file: path)
        guard image.width == ImageSplit.imageSide, image.height == ImageSplit.imageSide else {
            throw FormatError(file: path, kind: .wrongImageSize(width: image.width, height: image.height))
        }
        return image.pixels
    }

    /// Throws unless `folder` is a folder; `expected` lists it and its siblings, for the message.
    private static func checkIsFolder(_ folder: URL, expected: [String]) throws {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isFolder), isFolder.boolValue else {
            throw FormatError(file: folder.path, kind: .missingFolder(dataSet: "CINIC-10", expected: expected.map { $0 + "/" }))
        }
    }
}
