import Airbench
import AirbenchData
import AirbenchFormats
import Foundation
import XCTest

/// Copies of the data sets in their official layouts but of other sizes (a subset, a cleaned copy) train end to
/// end: written here into a temporary folder, found and read by `Dataset.load`, trained for one epoch of a narrow
/// network and evaluated. The data line gives their counts with the official ones beside them; a truncated file
/// stays an error.
///
/// Each image is its class's colour plus noise, so that the run has something to learn and an accuracy well
/// above chance shows the labels reached the loss with their images.
final class OtherSizeCopyTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("airbench-copies-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func testCIFAR100OfSixThousandAndOneThousandImages() throws {
        let data = folder.appendingPathComponent("cifar-100-binary")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        for (name, count, seed) in [("train.bin", 6_000, UInt64(1)), ("test.bin", 1_000, 2)] {
            // Fine label i mod 100, its superclass (fine / 5); planar R, G and B as the binary version stores them.
            var bytes: [UInt8] = []
            for (image, fine) in images(count: count, classes: 100, seed: seed) {
                bytes += [fine / 5, fine] + planar(image)
            }
            try Data(bytes).write(to: data.appendingPathComponent(name))
        }
        let dataset = try train(DatasetSelection(.cifar100), expecting: "cifar100 (fine labels): 6,000 train images "
                                    + "(official: 50,000), 1,000 test images (official: 10,000), 100 classes; ")
        XCTAssertEqual(dataset.train.labels.prefix(3), [0, 1, 2])
        let truncated = data.appendingPathComponent("train.bin")
        try Data(try Data(contentsOf: truncated).dropLast(1000)).write(to: truncated)
        XCTAssertThrowsError(try load(DatasetSelection(.cifar100))) { error in
            XCTAssertEqual((error as? FormatError)?.file, truncated.path, "\(error)")
        }
    }

    func testSVHNOfSixThousandAndOneThousandImages() throws {
        for (name, count, seed) in [("train_32x32.mat", 6_000, UInt64(3)), ("test_32x32.mat", 1_000, 4)] {
            try Data(matFile(images(count: count, classes: 10, seed: seed))).write(to: folder.appendingPathComponent(name))
        }
        let dataset = try train(DatasetSelection(.svhn), expecting: "svhn: 6,000 train images (official: 73,257), "
                                    + "1,000 test images (official: 26,032), 10 classes; ")
        XCTAssertEqual(dataset.train.labels.prefix(3), [0, 1, 2], "the file's y holds 10, 1, 2: 10 is the digit 0")
        let truncated = folder.appendingPathComponent("test_32x32.mat")
        try Data(try Data(contentsOf: truncated).dropLast(1000)).write(to: truncated)
        XCTAssertThrowsError(try load(DatasetSelection(.svhn))) { error in
            XCTAssertEqual((error as? FormatError)?.file, truncated.path, "\(error)")
        }
    }

    func testCINIC10OfAFewHundredImagesPerClass() throws {
        let root = folder.appendingPathComponent("CINIC-10")
        for (split, perClass, seed) in [("train", 300, UInt64(5)), ("valid", 20, 6), ("test", 100, 7)] {
            for (index, (image, label)) in images(count: 10 * perClass, classes: 10, seed: seed).enumerated() {
                let classFolder = root.appendingPathComponent(split).appendingPathComponent(CINIC10.classNames[Int(label)])
                try FileManager.default.createDirectory(at: classFolder, withIntermediateDirectories: true)
                try Data(png(image)).write(to: classFolder.appendingPathComponent("image-\(index).png"))
            }
        }
        _ = try train(DatasetSelection(.cinic10), expecting: "cinic10: 3,000 train images (official: 90,000), "
                          + "1,000 test images (official: 90,000), 10 classes; ")
        let both = try load(DatasetSelection(.cinic10, cinicValid: true))
        XCTAssertTrue(both.summary.contains("3,200 train images (official: 180,000)"), both.summary)
        let truncated = root.appendingPathComponent("test/dog/image-5.png")
        try Data(try Data(contentsOf: truncated).dropLast(10)).write(to: truncated)
        XCTAssertThrowsError(try load(DatasetSelection(.cinic10))) { error in
            XCTAssertEqual((error as? FormatError)?.file, truncated.path, "\(error)")
        }
    }

    // MARK: - Training

    private func load(_ selection: DatasetSelection) throws -> Dataset {
        try Dataset.load(selection, dataFlag: folder.path, environment: [:],
                         cacheFolder: folder.appendingPathComponent("cache"), allowDownload: false)
    }

    /// Loads the copy, checks its data line, and trains and evaluates a narrow airbench94 for one epoch on it (TTA
    /// off).
    private func train(_ selection: DatasetSelection, expecting summary: String,
                       file: StaticString = #filePath, line: UInt = #line) throws -> Dataset {
        let data = try load(selection)
        XCTAssertTrue(data.summary.hasPrefix(summary), data.summary, file: file, line: line)
        var h = Method.airbench94.hyperparameters.adapted(to: selection)
        h.widths = Widths(block1: 8, block2: 16, block3: 16)
        h.batchSize = data.train.count / 12  // twelve steps: enough to learn the colours, and seconds on two cores
        h.trainEpochs = 1
        h.whiteningImages = 500
        h.ttaLevel = 0
        let (network, result) = try Airbench.train(data: data, hyperparameters: h, seed: 0, evaluateEachEpoch: false)
        XCTAssertEqual(network.classes, selection.classCount, file: file, line: line)
        XCTAssertEqual(result.finalLogits.first?.count, data.test.count * selection.classCount, file: file, line: line)
        let chance = 1 / Double(selection.classCount)
        XCTAssertGreaterThan(result.ttaValidationAccuracy, 2 * chance, "\(selection): learnt nothing", file: file, line: line)
        return data
    }

    // MARK: - Writing the copies

    /// `count` images with labels 0, 1, 2, … modulo `classes`: each the colour of its class (a point of a 5 × 5 × 4
    /// grid over RGB) with a little noise, as 32 × 32 × 3 bytes, row by row, RGB interleaved.
    private func images(count: Int, classes: Int, seed: UInt64) -> [(image: [UInt8], label: UInt8)] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { index in
            let label = index % classes
            let colour = [label % 5 * 50 + 25, label / 5 % 5 * 50 + 25, label / 25 * 60 + 30]
            let image = (0..<1024).flatMap { _ in colour.map { UInt8($0 + generator.int(below: 16) - 8) } }
            return (image, UInt8(label))
        }
    }

    /// An NHWC image as CIFAR's R, G and B planes.
    private func planar(_ image: [UInt8]) -> [UInt8] {
        (0..<3).flatMap { channel in stride(from: channel, to: image.count, by: 3).map { image[$0] } }
    }

    /// SVHN's MAT-file (level 5, uncompressed): `X` uint8 32 × 32 × 3 × N, column-major, and `y` uint8 N × 1 with
    /// 10 for the digit 0.
    private func matFile(_ images: [(image: [UInt8], label: UInt8)]) -> [UInt8] {
        func element(_ type: UInt32, _ bytes: [UInt8]) -> [UInt8] {
            littleEndian(type) + littleEndian(UInt32(bytes.count)) + bytes + [UInt8](repeating: 0, count: (8 - bytes.count % 8) % 8)
        }
        func uint8Matrix(_ name: String, dimensions: [Int], data: [UInt8]) -> [UInt8] {
            let flags = element(6, littleEndian(9) + [0, 0, 0, 0])  // miUINT32; class 9 is uint8
            let dims = element(5, dimensions.flatMap { littleEndian(UInt32($0)) })  // miINT32
            return element(14, flags + dims + element(1, Array(name.utf8)) + element(2, data))  // miMATRIX
        }
        // X(row, column, channel, image), the row varying fastest.
        var x = [UInt8](repeating: 0, count: images.count * 3072)
        for (n, (image, _)) in images.enumerated() {
            for channel in 0..<3 {
                for column in 0..<32 {
                    for row in 0..<32 { x[((n * 3 + channel) * 32 + column) * 32 + row] = image[(row * 32 + column) * 3 + channel] }
                }
            }
        }
        var header = [UInt8]("MATLAB 5.0 MAT-file, written by OtherSizeCopyTests".utf8)
        header += [UInt8](repeating: 0x20, count: 116 - header.count) + [UInt8](repeating: 0, count: 8)
        header += [0x00, 0x01] + Array("IM".utf8)  // version 0x0100, little-endian
        return header + uint8Matrix("X", dimensions: [32, 32, 3, images.count], data: x)
            + uint8Matrix("y", dimensions: [images.count, 1], data: images.map { $0.label == 0 ? 10 : $0.label })
    }

    /// A 32 × 32 8-bit RGB PNG: rows without a filter, in one stored (uncompressed) zlib block.
    private func png(_ image: [UInt8]) -> [UInt8] {
        func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
            let body = Array(type.utf8) + data
            return bigEndian(UInt32(data.count)) + body + bigEndian(body.withUnsafeBytes { Zlib.crc32($0) })
        }
        let rows = (0..<32).flatMap { row in [0] + image[row * 96 ..< (row + 1) * 96] }
        var (a, b): (UInt32, UInt32) = (1, 0)  // Adler-32
        for byte in rows { (a, b) = ((a + UInt32(byte)) % 65_521, (b + (a + UInt32(byte)) % 65_521) % 65_521) }
        let length = UInt16(rows.count)
        let zlib = [0x78, 0x01, 1] + littleEndian16(length) + littleEndian16(~length) + rows + bigEndian(b << 16 | a)
        let header = bigEndian(32) + bigEndian(32) + [8, 2, 0, 0, 0]  // 8-bit RGB, not interlaced
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", header) + chunk("IDAT", zlib) + chunk("IEND", [])
    }

    private func littleEndian(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
    private func littleEndian16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }
    private func bigEndian(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) } }
}
