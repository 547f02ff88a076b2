import AirbenchData
import AirbenchFormats
import Foundation
import XCTest

final class CIFAR10ReaderTests: XCTestCase {
    func testReadsRecordsAndConvertsPlanarToNHWC() throws {
        let folder = try makeTemporaryFolder()
        let files = try writeBatchFiles(into: folder)
        let data = try CIFAR10.load(folder: folder)
        XCTAssertEqual(data.train.count, 5 * testRecords)
        XCTAssertEqual(data.test.count, testRecords)
        XCTAssertEqual(data.train.images.count, 5 * testRecords * 3072)

        func check(_ split: ImageSplit, image: Int, against source: [UInt8], record: Int) {
            let base = record * 3073
            XCTAssertEqual(split.labels[image], source[base])
            for y in 0 ..< 32 {
                for x in 0 ..< 32 {
                    for channel in 0 ..< 3 {
                        let planar = source[base + 1 + channel * 1024 + y * 32 + x]
                        let interleaved = split.images[image * 3072 + (y * 32 + x) * 3 + channel]
                        if planar != interleaved {
                            return XCTFail("image \(image) pixel (\(y), \(x)) channel \(channel): \(interleaved) != \(planar)")
                        }
                    }
                }
            }
        }
        for (fileIndex, name) in CIFAR10.trainFileNames.enumerated() {
            for record in 0 ..< testRecords {
                check(data.train, image: fileIndex * testRecords + record, against: files[name]!, record: record)
            }
        }
        for record in 0 ..< testRecords {
            check(data.test, image: record, against: files[CIFAR10.testFileName]!, record: record)
        }
    }

    func testMissingFileNamesItAndTheExpectedFiles() throws {
        let folder = try makeTemporaryFolder()
        try writeBatchFiles(into: folder)
        let missing = folder.appendingPathComponent("data_batch_3.bin")
        try FileManager.default.removeItem(at: missing)
        assertFormatError(try CIFAR10.load(folder: folder), about: missing.path,
                          mentions: ["file not found", "CIFAR-10", "test_batch.bin", "data_batch_1.bin"]) {
            $0 == .missingFile(dataSet: "CIFAR-10", expected: CIFAR10.batchFileNames)
        }
        // The same for a folder that is not CIFAR-10 at all.
        let empty = try makeTemporaryFolder()
        assertFormatError(try CIFAR10.load(folder: empty), about: empty.appendingPathComponent("data_batch_1.bin").path)
    }

    /// Batch files of other sizes, and of sizes that differ from file to file, are a well-formed copy (a subset,
    /// a cleaned copy): read whole, in file order.
    func testAnyWholeNumberOfRecordsReads() throws {
        let folder = try makeTemporaryFolder()
        let counts = [3, 1, 7, 2, 5, 4]
        var files: [[UInt8]] = []
        for (index, name) in CIFAR10.batchFileNames.enumerated() {
            files.append(batchFile(records: counts[index], seed: UInt64(20 + index)))
            try Data(files[index]).write(to: folder.appendingPathComponent(name))
        }
        let data = try CIFAR10.load(folder: folder)
        XCTAssertEqual(data.train.count, 18)
        XCTAssertEqual(data.test.count, 4)
        func labels(_ file: [UInt8]) -> [UInt8] { stride(from: 0, to: file.count, by: 3073).map { file[$0] } }
        XCTAssertEqual(data.train.labels, files.prefix(5).flatMap(labels))
        XCTAssertEqual(data.test.labels, labels(files[5]))
        // The last training image is data_batch_5's last record: its first pixel from the R, G and B planes.
        let last = files[4], base = (counts[4] - 1) * 3073
        XCTAssertEqual(Array(data.train.images.suffix(3072).prefix(3)), [last[base + 1], last[base + 1025], last[base + 2049]])
    }

    func testTruncatedAndEmptyFilesAreErrors() throws {
        let folder = try makeTemporaryFolder()
        try writeBatchFiles(into: folder)
        let file = folder.appendingPathComponent("data_batch_2.bin")
        try Data(batchFile(records: testRecords, seed: 1).dropLast(5)).write(to: file)
        assertFormatError(try CIFAR10.load(folder: folder), about: file.path, mentions: ["truncated record", "3073"]) {
            $0 == .truncatedRecord(recordSize: 3073, size: testRecords * 3073 - 5)
        }
        // One byte short of a record, and one byte more: still cut off, whatever the rest holds.
        try Data(batchFile(records: 1, seed: 1) + [7]).write(to: file)
        assertFormatError(try CIFAR10.load(folder: folder), about: file.path, mentions: ["3074 bytes"])
        try Data().write(to: file)
        assertFormatError(try CIFAR10.load(folder: folder), about: file.path, mentions: ["holds no images"]) { $0 == .noImages }
    }

    func testLabelAboveNineNamesFileRecordAndValue() throws {
        let folder = try makeTemporaryFolder()
        try writeBatchFiles(into: folder)
        var labels = (0 ..< testRecords).map { UInt8($0 % 10) }
        labels[7] = 10
        let file = folder.appendingPathComponent("test_batch.bin")
        try Data(batchFile(records: testRecords, seed: 6, labels: labels)).write(to: file)
        assertFormatError(try CIFAR10.load(folder: folder), about: file.path, mentions: ["record 7", "label 10", "0–9"]) {
            $0 == .invalidLabel(record: 7, label: "label", value: 10, classCount: 10)
        }
    }

    func testSyntheticSplitAndSubset() {
        let split = ImageSplit.synthetic(count: 300, seed: 3)
        XCTAssertEqual(split.count, 300)
        XCTAssertEqual(split.images.count, 300 * 3072)
        XCTAssertTrue(split.labels.allSatisfy { $0 < 10 })
        XCTAssertEqual(Set(split.labels).count, 10)
        XCTAssertEqual(Set(split.images).count, 256, "pixels should cover all byte values")
        let again = ImageSplit.synthetic(count: 300, seed: 3)
        XCTAssertEqual(again.images, split.images)
        XCTAssertEqual(again.labels, split.labels)
        XCTAssertNotEqual(ImageSplit.synthetic(count: 300, seed: 4).images, split.images)

        let subset = split.subset([5, 0, 5, 299])
        XCTAssertEqual(subset.count, 4)
        for (position, index) in [5, 0, 5, 299].enumerated() {
            XCTAssertEqual(subset.labels[position], split.labels[index])
            XCTAssertEqual(subset.images[position * 3072 ..< (position + 1) * 3072],
                           split.images[index * 3072 ..< (index + 1) * 3072])
        }
        XCTAssertEqual(CIFAR10.classNames.count, 10)
        XCTAssertEqual(CIFAR10.classNames.first, "airplane")
        XCTAssertEqual(CIFAR10.classNames.last, "truck")
    }
}
