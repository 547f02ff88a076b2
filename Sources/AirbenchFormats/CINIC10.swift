import Foundation

/// CINIC-10 (Darlow et al., 2018): CIFAR-10's classes with images from CIFAR-10 and downsampled
/// ImageNet, as the official archive unpacks: `train/`, `valid/` and `test/`, each with one folder per
/// class (`airplane` … `truck`) of 32 × 32 PNG files; 9,000 images per class and split.
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
    /// Images per class in each split of the real data set.
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

    /// Reads the three splits from `folder` (the folder holding `train/`, `valid/` and `test/`),
    /// checking that every class folder holds the official 9,000 images.
    ///
    /// - Throws: `CINIC10Error` naming the folder or file that is missing, unexpected or not a
    ///   readable 32 × 32 PNG.
    public static func load(folder: URL) throws -> CINIC10 {
        try load(folder: folder, imagesPerClass: imagesPerClass)
    }

    /// `load(folder:)` with another number of images per class, or none (`nil`) to take what is there.
    package static func load(folder: URL, imagesPerClass: Int?) throws -> CINIC10 {
        CINIC10(
            train: try readSplit(folder.appendingPathComponent("train"), imagesPerClass: imagesPerClass),
            valid: try readSplit(folder.appendingPathComponent("valid"), imagesPerClass: imagesPerClass),
            test: try readSplit(folder.appendingPathComponent("test"), imagesPerClass: imagesPerClass))
    }

    /// Reads one split folder: ten class folders of PNG files. Hidden files (names starting with ".")
    /// are ignored; any other file that is not `.png`, and any folder inside a class folder, is an error.
    package static func readSplit(_ split: URL, imagesPerClass: Int?) throws -> ImageSplit {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: split.path, isDirectory: &isFolder), isFolder.boolValue else {
            throw CINIC10Error.missingFolder(path: split.path, expected: splitNames.map { $0 + "/" })
        }
        var images: [UInt8] = []
        var labels: [UInt8] = []
        for (label, className) in classNames.enumerated() {
            let classFolder = split.appendingPathComponent(className)
            guard FileManager.default.fileExists(atPath: classFolder.path, isDirectory: &isFolder), isFolder.boolValue else {
                throw CINIC10Error.missingFolder(path: classFolder.path, expected: classNames.map { $0 + "/" })
            }
            let names: [String]
            do {
                names = try FileManager.default.contentsOfDirectory(atPath: classFolder.path)
                    .filter { !$0.hasPrefix(".") }
                    .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            } catch {
                throw CINIC10Error.fileSystem(path: classFolder.path, reason: "cannot list: \(error.localizedDescription)")
            }
            if let imagesPerClass, names.count != imagesPerClass {
                throw CINIC10Error.wrongCount(path: classFolder.path, expected: imagesPerClass, actual: names.count)
            }
            images.reserveCapacity(images.count + names.count * ImageSplit.bytesPerImage)
            for name in names {
                let file = classFolder.appendingPathComponent(name)
                guard name.lowercased().hasSuffix(".png") else {
                    throw CINIC10Error.unexpectedEntry(path: file.path, reason: "not a .png file")
                }
                guard FileManager.default.fileExists(atPath: file.path, isDirectory: &isFolder), !isFolder.boolValue else {
                    throw CINIC10Error.unexpectedEntry(path: file.path, reason: "a folder inside a class folder")
                }
                images += try readImage(file)
                labels.append(UInt8(label))
            }
        }
        return ImageSplit(images: images, labels: labels)
    }

    /// One PNG file as 32 × 32 RGB bytes.
    package static func readImage(_ file: URL) throws -> [UInt8] {
        let data: Data
        do {
            data = try Data(contentsOf: file)
        } catch {
            throw CINIC10Error.fileSystem(path: file.path, reason: "cannot read: \(error.localizedDescription)")
        }
        return try data.withUnsafeBytes { try parseImage($0, path: file.path) }
    }

    /// The bytes of one PNG file as 32 × 32 RGB bytes; `path` names it in errors.
    package static func parseImage(_ bytes: UnsafeRawBufferPointer, path: String) throws -> [UInt8] {
        let image: PNGImage
        do {
            image = try PNG.decode(bytes)
        } catch let error as PNGError {
            throw CINIC10Error.badImage(path: path, reason: error.reason)
        }
        guard image.width == ImageSplit.imageSide, image.height == ImageSplit.imageSide else {
            throw CINIC10Error.badImage(path: path, reason: "the image is \(image.width) × \(image.height), expected 32 × 32")
        }
        return image.pixels
    }
}

/// What can go wrong reading CINIC-10; every case names the file or folder.
public enum CINIC10Error: Error, CustomStringConvertible, Equatable {
    /// A split or class folder is not there.
    case missingFolder(path: String, expected: [String])
    /// A class folder holds something other than PNG files.
    case unexpectedEntry(path: String, reason: String)
    /// A file is not a readable 32 × 32 PNG of a supported kind.
    case badImage(path: String, reason: String)
    /// A class folder does not hold the official number of images.
    case wrongCount(path: String, expected: Int, actual: Int)
    /// A file or folder could not be read.
    case fileSystem(path: String, reason: String)

    public var description: String {
        switch self {
        case .missingFolder(let path, let expected):
            return "\(path): folder not found; CINIC-10 needs \(expected.joined(separator: ", ")) in the folder above it"
        case .unexpectedEntry(let path, let reason):
            return "\(path): unexpected in a CINIC-10 class folder: \(reason)"
        case .badImage(let path, let reason):
            return "\(path): \(reason)"
        case .wrongCount(let path, let expected, let actual):
            return "\(path): holds \(actual) images, expected \(expected)"
        case .fileSystem(let path, let reason):
            return "\(path): \(reason)"
        }
    }
}
