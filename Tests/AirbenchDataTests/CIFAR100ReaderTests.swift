import AirbenchFormats
import Foundation
import XCTest

/// Reads the sample written by `scripts/make_cifar100_sample.py` and compares with what that script,
/// independently, says the reader must produce.
final class CIFAR100ReaderTests: XCTestCase {
    private func sampleFolder() throws -> URL {
        try XCTUnwrap(
            Bundle.module.url(forResource: "cifar100-sample", withExtension: nil, subdirectory: "Fixtures"),
            "the CIFAR-100 sample is not in the test bundle")
    }

    /// A writable copy of the sample, for tests that damage it.
    private func sampleCopy() throws -> URL {
        let folder = try makeTemporaryFolder().appendingPathComponent("cifar-100-binary")
        try FileManager.default.copyItem(at: try sampleFolder(), to: folder)
        return folder
    }

    private func load(_ folder: URL) throws -> CIFAR100 {
        try CIFAR100.load(folder: folder)
    }

    func testReadsLabelsAndConvertsPlanarToNHWC() throws {
        let folder = try sampleFolder()
        let data = try load(folder)
        for (name, split) in [("train", data.train), ("test", data.test)] {
            let expected = try [UInt8](Data(contentsOf: folder.appendingPathComponent("\(name).expected")))
            let count = split.count
            XCTAssertEqual(expected.count, count * (2 + 3072), name)
            XCTAssertEqual(split.fineLabels, Array(expected[0 ..< count]), name)
            XCTAssertEqual(split.coarseLabels, Array(expected[count ..< 2 * count]), name)
            XCTAssertEqual(split.images, Array(expected[(2 * count)...]), name)
        }
        XCTAssertEqual(data.train.count, 7)
        XCTAssertEqual(data.test.count, 3)
        // The extremes the script wrote (fine 0 and 99, coarse 0 and 19) are accepted.
        XCTAssertEqual(data.train.fineLabels.first, 0)
        XCTAssertEqual(data.train.fineLabels[1], 99)
        XCTAssertEqual(data.train.coarseLabels[1], 19)
        XCTAssertEqual(data.test.coarseLabels.first, 0)
    }

    /// The sample's 7 and 3 records are a well-formed copy of another size; so is any whole number of records.
    func testTruncatedAndEmptyFilesAreErrorsOtherSizesRead() throws {
        let folder = try sampleCopy()
        let train = folder.appendingPathComponent("train.bin")
        let bytes = try Data(contentsOf: train)
        try bytes.dropLast(100).write(to: train)
        assertFormatError(try load(folder), about: train.path, mentions: ["truncated record", "3074"]) {
            $0 == .truncatedRecord(recordSize: 3074, size: 7 * 3074 - 100)
        }
        try bytes.dropLast(3074).write(to: train)
        XCTAssertEqual(try load(folder).train.count, 6)
        XCTAssertEqual(try load(folder).train.fineLabels, try load(try sampleFolder()).train.fineLabels.dropLast())
        try Data().write(to: train)
        assertFormatError(try load(folder), about: train.path, mentions: ["holds no images"]) { $0 == .noImages }
    }

    func testOutOfRangeLabelsNameFileRecordAndKind() throws {
        let folder = try sampleCopy()
        let test = folder.appendingPathComponent("test.bin")
        let original = try [UInt8](Data(contentsOf: test))
        var bytes = original
        bytes[2 * 3074 + 1] = 100  // fine label of record 2
        try Data(bytes).write(to: test)
        assertFormatError(try load(folder), about: test.path, mentions: ["record 2", "fine label 100", "0–99"]) {
            $0 == .invalidLabel(record: 2, label: "fine label", value: 100, classCount: 100)
        }
        bytes = original
        bytes[1 * 3074] = 20  // coarse label of record 1
        try Data(bytes).write(to: test)
        assertFormatError(try load(folder), about: test.path, mentions: ["record 1", "coarse label 20", "0–19"]) {
            $0 == .invalidLabel(record: 1, label: "coarse label", value: 20, classCount: 20)
        }
        bytes = original
        bytes[0] = 255
        try Data(bytes).write(to: test)
        assertFormatError(try load(folder), about: test.path, mentions: ["record 0", "coarse label 255"])
    }

    func testMissingFile() throws {
        let folder = try sampleCopy()
        let test = folder.appendingPathComponent("test.bin")
        try FileManager.default.removeItem(at: test)
        assertFormatError(try load(folder), about: test.path, mentions: ["not found", "CIFAR-100", "train.bin, test.bin"]) {
            $0 == .missingFile(dataSet: "CIFAR-100", expected: ["train.bin", "test.bin"])
        }
    }
}
