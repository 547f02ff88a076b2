import Foundation

/// A file of a data set's official distribution: where it is published and its MD5 digest.
public struct DataSetFile: Sendable, Equatable {
    /// The file name.
    public var name: String
    /// Where the publishers host it.
    public var url: String
    /// MD5 of the whole file, lower-case hex.
    public var md5: String
    /// Images in the file.
    public var images: Int

    public init(name: String, url: String, md5: String, images: Int) {
        self.name = name
        self.url = url
        self.md5 = md5
        self.images = images
    }
}

/// The Street View House Numbers data set, cropped-digits format ("Format 2"): `train_32x32.mat`
/// (73,257 images in the official file), `test_32x32.mat` (26,032) and optionally `extra_32x32.mat` (531,131),
/// MATLAB level-5 files each holding `X` (uint8, 32 × 32 × 3 × N, column-major) and `y` (N × 1, the digit,
/// with 10 standing for the digit 0).
///
/// Images come out as `ImageSplit` (NHWC bytes) with labels 0–9, label *d* for the digit *d*.
/// The engine trains on it as `Dataset` (`DatasetSelection(.svhn)`, not flipped).
public struct SVHN: Sendable {
    /// The training images (`train_32x32.mat`).
    public var train: ImageSplit
    /// The test images (`test_32x32.mat`).
    public var test: ImageSplit
    /// The easier extra training images (`extra_32x32.mat`), when asked for.
    public var extra: ImageSplit?

    /// `train_32x32.mat` as published on the SVHN page.
    public static let trainFile = DataSetFile(
        name: "train_32x32.mat", url: "http://ufldl.stanford.edu/housenumbers/train_32x32.mat",
        md5: "e26dedcc434d2e4c54c9b2d4a06d8373", images: 73_257)
    /// `test_32x32.mat` as published on the SVHN page.
    public static let testFile = DataSetFile(
        name: "test_32x32.mat", url: "http://ufldl.stanford.edu/housenumbers/test_32x32.mat",
        md5: "eb5a983be6a315427106f1b164d9cef3", images: 26_032)
    /// `extra_32x32.mat` as published on the SVHN page.
    public static let extraFile = DataSetFile(
        name: "extra_32x32.mat", url: "http://ufldl.stanford.edu/housenumbers/extra_32x32.mat",
        md5: "a93ce644f1a588dc4d68dda5feec44a7", images: 531_131)

    /// Creates the data set from its splits.
    public init(train: ImageSplit, test: ImageSplit, extra: ImageSplit? = nil) {
        self.train = train
        self.test = test
        self.extra = extra
    }

    /// The files a folder of SVHN must hold: train and test, and extra when it is asked for.
    public static func files(includeExtra: Bool) -> [DataSetFile] {
        [trainFile, testFile] + (includeExtra ? [extraFile] : [])
    }

    /// Reads `train_32x32.mat`, `test_32x32.mat` and, with `includeExtra`, `extra_32x32.mat` from `folder`,
    /// whatever number of images each holds (a subset or a cleaned copy reads as it is).
    ///
    /// - Throws: `FormatError` naming the file that is missing, malformed, empty or holds a bad label.
    public static func load(folder: URL, includeExtra: Bool = false) throws -> SVHN {
        try checkFolder(folder, names: files(includeExtra: includeExtra).map(\.name))
        func read(_ file: DataSetFile) throws -> ImageSplit { try SVHN.read(folder.appendingPathComponent(file.name)) }
        return SVHN(train: try read(trainFile), test: try read(testFile), extra: includeExtra ? try read(extraFile) : nil)
    }

    /// Throws the error naming the first of the files `names` that `folder` lacks.
    package static func checkFolder(_ folder: URL, names: [String]) throws {
        for name in names where !FileManager.default.fileExists(atPath: folder.appendingPathComponent(name).path) {
            throw FormatError(file: folder.appendingPathComponent(name).path, kind: .missingFile(dataSet: "SVHN", expected: names))
        }
    }

    /// Reads one cropped-digits file, whatever its number of images.
    ///
    /// - Throws: `FormatError` naming the file.
    public static func read(_ file: URL) throws -> ImageSplit {
        let data: Data
        do {
            data = try readFile(file, options: .mappedIfSafe)
        } catch {
            if !FileManager.default.fileExists(atPath: file.path) {
                throw FormatError(file: file.path, kind: .missingFile(dataSet: "SVHN", expected: [file.lastPathComponent]))
            }
            throw error
        }
        return try data.withUnsafeBytes { try parse($0, path: file.path) }
    }

    /// Parses the bytes of a cropped-digits file; `path` names it in errors.
    package static func parse(_ bytes: UnsafeRawBufferPointer, path: String) throws -> ImageSplit {
        var images: [UInt8]?
        var labels: [UInt8]?
        try MATFile.forEachVariable(in: bytes, file: path) { variable, real in
            func twice() -> FormatError {
                FormatError(file: path, kind: .badVariable(name: variable.name, reason: "it appears twice"))
            }
            switch variable.name {
            case "X":
                guard images == nil else { throw twice() }
                images = try imagesFromX(variable, real, path: path)
            case "y":
                guard labels == nil else { throw twice() }
                labels = try labelsFromY(variable, real, path: path)
            default:
                break  // other variables are allowed and ignored
            }
        }
        guard let images else { throw FormatError(file: path, kind: .missingVariable(name: "X")) }
        guard let labels else { throw FormatError(file: path, kind: .missingVariable(name: "y")) }
        let imageCount = images.count / ImageSplit.bytesPerImage
        guard imageCount == labels.count else {
            throw FormatError(file: path, kind: .countMismatch(images: imageCount, labels: labels.count))
        }
        guard imageCount > 0 else { throw FormatError(file: path, kind: .noImages) }
        return ImageSplit(images: images, labels: labels)
    }

    /// `X(row, column, channel, image)`, column-major, to NHWC bytes.
    private static func imagesFromX(_ x: MATFile.Variable, _ real: UnsafeRawBufferPointer, path: String) throws -> [UInt8] {
        func bad(_ reason: String) -> FormatError { FormatError(file: path, kind: .badVariable(name: "X", reason: reason)) }
        guard x.arrayClass == .uint8, !x.isComplex, !x.isLogical else {
            throw bad("it is a \(x.isComplex ? "complex " : "")\(x.isLogical ? "logical" : x.arrayClass.name) array, expected uint8")
        }
        guard x.realType == .uint8 else {
            throw bad("its data is stored as \(x.realType?.name ?? "nothing"), expected miUINT8")
        }
        let side = ImageSplit.imageSide
        // MATLAB drops trailing singleton dimensions, so one image is 32 × 32 × 3.
        let dims = x.dimensions
        guard dims.count == 4 || dims.count == 3, dims[0] == side, dims[1] == side, dims[2] == ImageSplit.channels else {
            throw bad("its size is \(dims.map(String.init).joined(separator: " × ")), expected 32 × 32 × 3 × N")
        }
        let count = dims.count == 4 ? dims[3] : 1
        var images = [UInt8](repeating: 0, count: count * ImageSplit.bytesPerImage)
        images.withUnsafeMutableBufferPointer { out in
            var source = 0
            for image in 0 ..< count {
                let base = image * ImageSplit.bytesPerImage
                for channel in 0 ..< 3 {
                    for column in 0 ..< side {
                        for row in 0 ..< side {
                            out[base + (row * side + column) * 3 + channel] = real[source]
                            source += 1
                        }
                    }
                }
            }
        }
        return images
    }

    /// `y`, N × 1 (or 1 × N) digits 1–10, to labels 0–9.
    private static func labelsFromY(_ y: MATFile.Variable, _ real: UnsafeRawBufferPointer, path: String) throws -> [UInt8] {
        func bad(_ reason: String) -> FormatError { FormatError(file: path, kind: .badVariable(name: "y", reason: reason)) }
        guard y.arrayClass == .uint8 || y.arrayClass == .double, !y.isComplex, !y.isLogical, let type = y.realType else {
            throw bad("it is a \(y.isComplex ? "complex " : "")\(y.isLogical ? "logical" : y.arrayClass.name) array, expected uint8 or double")
        }
        let dims = y.dimensions
        guard dims.count == 2, dims[0] == 1 || dims[1] == 1 else {
            throw bad("its size is \(dims.map(String.init).joined(separator: " × ")), expected N × 1")
        }
        var labels = [UInt8](repeating: 0, count: y.elementCount)
        for index in 0 ..< y.elementCount {
            let value = MATFile.value(type, in: real, at: index)
            guard value >= 1, value <= 10, value.rounded() == value else {
                throw FormatError(file: path, kind: .invalidDigitLabel(index: index, value: value))
            }
            labels[index] = UInt8(value) % 10
        }
        return labels
    }
}
