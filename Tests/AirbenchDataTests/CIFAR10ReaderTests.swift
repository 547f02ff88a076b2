import AirbenchData
import AirbenchFormats
import Foundation
import XCTest

final class CIFAR10ReaderTests: XCTestCase {
    func testReadsRecordsAndConvertsPlanarToNHWC() throws {
        let folder = try makeTemporaryFolder()
        let files = try writeBatchFiles(into: folder)
        let data = try CIFAR10.load(folder: folder, recordsPerFile: testRecords)
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
        assertDataError(try CIFAR10.load(folder: folder, recordsPerFile: testRecords),
                           mentions: [missing.path, "test_batch.bin", "data_batch_1.bin"]) {
            $0 == .missingFile(path: missing.path, expected: CIFAR10.batchFileNames)
        }
        // The public entry point reports the same for a folder that is not CIFAR-10 at all.
        let empty = try makeTemporaryFolder()
        assertDataError(try CIFAR10.load(folder: empty), mentions: [empty.appendingPathComponent("data_batch_1.bin").path])
    }

    func testWrongSizeAndTruncatedRecord() throws {
        let folder = try makeTemporaryFolder()
        try writeBatchFiles(into: folder)
        let file = folder.appendingPathComponent("data_batch_2.bin")
        try Data(batchFile(records: testRecords - 1, seed: 1)).write(to: file)
        assertDataError(try CIFAR10.load(folder: folder, recordsPerFile: testRecords),
                           mentions: [file.path, "\(testRecords * 3073)", "\((testRecords - 1) * 3073)"]) {
            $0 == .wrongFileSize(path: file.path, expected: testRecords * 3073, actual: (testRecords - 1) * 3073)
        }
        try Data(batchFile(records: testRecords, seed: 1).dropLast(5)).write(to: file)
        assertDataError(try CIFAR10.load(folder: folder, recordsPerFile: testRecords),
                           mentions: [file.path, "truncated record"]) {
            $0 == .truncatedRecord(path: file.path, recordSize: 3073, actual: testRecords * 3073 - 5)
        }
    }

    func testLabelAboveNineNamesFileRecordAndValue() throws {
        let folder = try makeTemporaryFolder()
        try writeBatchFiles(into: folder)
        var labels = (0 ..< testRecords).map { UInt8($0 % 10) }
        labels[7] = 10
        let file = folder.appendingPathComponent("test_batch.bin")
        try Data(batchFile(records: testRecords, seed: 6, labels: labels)).write(to: file)
        assertDataError(try CIFAR10.load(folder: folder, recordsPerFile: testRecords),
                           mentions: [file.path, "record 7", "label 10"]) {
            $0 == .invalidLabel(path: file.path, record: 7, value: 10)
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
