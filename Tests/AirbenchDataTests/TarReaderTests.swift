import AirbenchData
import AirbenchFormats
import Foundation
import XCTest

final class TarReaderTests: XCTestCase {
    private let longName = "cifar-10-batches-bin/" + String(repeating: "very-long-folder-name/", count: 6) + "data_batch_1.bin"

    private var archive: [UInt8] {
        tarArchive([
            TarTestEntry(name: "folder/", type: "5"),
            TarTestEntry(name: "folder/empty.txt"),
            TarTestEntry(name: "folder/small.txt", contents: Array("hello tar\n".utf8)),
            TarTestEntry(name: "link", contents: [], type: "2"),
            TarTestEntry(name: "././@LongLink", contents: Array(longName.utf8) + [0], type: "L"),
            TarTestEntry(name: String(longName.prefix(100)), contents: [UInt8](repeating: 7, count: 1500)),
            TarTestEntry(name: "PaxHeaders/x", contents: Array("31 path=pax/renamed-by-pax.bin\n".utf8), type: "x"),
            TarTestEntry(name: "truncated-name", contents: [1, 2, 3]),
            TarTestEntry(name: "exactly-one-block.bin", contents: [UInt8](repeating: 9, count: 512)),
        ])
    }

    func testReadsRegularFilesLongNamesAndPaxPaths() throws {
        let files = try TarReader.files(in: archive, file: "test.tar")
        XCTAssertEqual(files.map(\.path), [
            "folder/empty.txt", "folder/small.txt", longName, "pax/renamed-by-pax.bin", "exactly-one-block.bin",
        ])
        XCTAssertEqual(files.map(\.contents), [
            [], Array("hello tar\n".utf8), [UInt8](repeating: 7, count: 1500), [1, 2, 3], [UInt8](repeating: 9, count: 512),
        ])
    }

    func testPiecesOfAnySizeGiveTheSameFiles() throws {
        let bytes = archive
        for pieceSize in [1, 7, 511, 513, 4096] {
            var reader = TarReader(file: "test.tar")
            var files: [(String, [UInt8])] = []
            var open = false
            try bytes.withUnsafeBytes { all in
                for start in stride(from: 0, to: all.count, by: pieceSize) {
                    try reader.consume(UnsafeRawBufferPointer(rebasing: all[start ..< min(start + pieceSize, all.count)])) { event in
                        switch event {
                        case .fileStart(let path, _):
                            XCTAssertFalse(open)
                            open = true
                            files.append((path, []))
                        case .fileData(let piece):
                            XCTAssertTrue(open)
                            files[files.count - 1].1 += piece
                        case .fileEnd:
                            XCTAssertTrue(open)
                            open = false
                        }
                    }
                }
            }
            try reader.finish()
            let whole = try TarReader.files(in: bytes, file: "test.tar")
            XCTAssertEqual(files.map(\.0), whole.map(\.path), "piece size \(pieceSize)")
            XCTAssertEqual(files.map(\.1), whole.map(\.contents), "piece size \(pieceSize)")
        }
    }

    func testBadChecksumIsAnError() {
        var bytes = archive
        bytes[512 + 10] ^= 0x01  // a name byte of the second header
        XCTAssertThrowsError(try TarReader.files(in: bytes, file: "test.tar")) { error in
            XCTAssertTrue("\(error)".contains("checksum"), "\(error)")
        }
    }

    func testArchiveCutInsideAFileIsAnError() {
        let bytes = Array(archive.prefix(512 * 8 + 100))  // 100 bytes into the 1,500-byte file
        XCTAssertThrowsError(try TarReader.files(in: bytes, file: "test.tar")) { error in
            XCTAssertEqual(error as? FormatError, FormatError(file: "test.tar", kind: .truncated("tar archive")))
        }
    }

    func testExtractorRefusesPathsOutsideTheFolder() throws {
        let folder = try makeTemporaryFolder()
        let archiveFile = folder.appendingPathComponent("evil.tar.gz")
        try Data(storedGzip(tarArchive([TarTestEntry(name: "../escape.txt", contents: [1])]))).write(to: archiveFile)
        let target = folder.appendingPathComponent("target")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        assertDataError(try ArchiveExtractor.extractTarGzip(archiveFile, into: target), mentions: ["evil.tar.gz", "../escape.txt"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("escape.txt").path))
    }

    func testExtractorWritesFiles() throws {
        let folder = try makeTemporaryFolder()
        let archiveFile = folder.appendingPathComponent("files.tar.gz")
        try Data(storedGzip(archive)).write(to: archiveFile)
        let target = folder.appendingPathComponent("target")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        try ArchiveExtractor.extractTarGzip(archiveFile, into: target)
        XCTAssertEqual(try Data(contentsOf: target.appendingPathComponent("folder/small.txt")), Data("hello tar\n".utf8))
        XCTAssertEqual(try Data(contentsOf: target.appendingPathComponent(longName)).count, 1500)
        XCTAssertEqual(try Data(contentsOf: target.appendingPathComponent("folder/empty.txt")).count, 0)
    }

    /// A header with its size field replaced by `field` (12 bytes) and the checksum recomputed.
    private func header(name: String, sizeField field: [UInt8], type: Character) -> [UInt8] {
        var block = tarHeader(name: name, size: 0, type: type)
        block.replaceSubrange(124 ..< 136, with: field)
        block.replaceSubrange(148 ..< 156, with: Array("        ".utf8))
        let sum = block.reduce(0) { $0 + Int($1) }
        let digits = String(sum, radix: 8)
        block.replaceSubrange(148 ..< 155, with: Array((String(repeating: "0", count: 6 - digits.count) + digits + "\0").utf8))
        return block
    }

    // Regression tests for what fuzzing found (Fuzz/, scripts/fuzz.sh, 2026-11-29).

    /// GNU base-256 sizes: a small one is read; a negative one (found by fuzz-tar) used to become a negative
    /// remaining count and trap on a reversed range; one over 2^63 used to wrap around. Both are errors now.
    func testBase256SizesOutOfRangeAreErrors() throws {
        let five = header(name: "five", sizeField: [0x80] + [UInt8](repeating: 0, count: 10) + [5], type: "0")
        let files = try TarReader.files(in: five + [1, 2, 3, 4, 5] + [UInt8](repeating: 0, count: 507 + 1024), file: "test.tar")
        XCTAssertEqual(files.map(\.path), ["five"])
        XCTAssertEqual(files.map(\.contents), [[1, 2, 3, 4, 5]])

        // The field of the fuzz finding: 0xDF has the sign bit (0x40) set.
        let found = header(name: "found", sizeField: [0xDF, 0xDF, 0xDF, 0xDF, 0xDF, 0, 0, 0, 0, 0, 0, 0], type: "0")
        XCTAssertThrowsError(try TarReader.files(in: found + [UInt8](repeating: 0, count: 1024), file: "test.tar")) { error in
            XCTAssertEqual(error as? FormatError, FormatError(file: "test.tar", kind: .invalidTar("size field is a negative base-256 number")))
        }
        let negative = header(name: "negative", sizeField: [UInt8](repeating: 0xFF, count: 12), type: "0")
        XCTAssertThrowsError(try TarReader.files(in: negative + [UInt8](repeating: 0, count: 1024), file: "test.tar")) { error in
            XCTAssertEqual(error as? FormatError, FormatError(file: "test.tar", kind: .invalidTar("size field is a negative base-256 number")))
        }
        let huge = header(name: "huge", sizeField: [0xBF] + [UInt8](repeating: 0xFF, count: 11), type: "0")
        XCTAssertThrowsError(try TarReader.files(in: huge + [UInt8](repeating: 0, count: 1024), file: "test.tar")) { error in
            XCTAssertEqual(error as? FormatError, FormatError(file: "test.tar", kind: .invalidTar("size field is a base-256 number over 2^63")))
        }
        let edge = header(name: "edge", sizeField: [0x80, 0, 0, 0] + [0x7F] + [UInt8](repeating: 0xFF, count: 7), type: "5")
        XCTAssertThrowsError(try TarReader.files(in: edge + [UInt8](repeating: 0, count: 1024), file: "test.tar")) { error in
            XCTAssertEqual(error as? FormatError, FormatError(file: "test.tar", kind: .invalidTar("size field \(Int.max) is out of range")))
        }
    }

    /// A pax record whose length is too short for its own "<length> " prefix used to trap on a reversed
    /// range (fuzz-gzip); malformed records are now an error.
    func testMalformedPaxRecordsAreErrors() throws {
        for records in ["2 \0g", "5 path", "99 path=x\n", "x path=y\n", "9 path=x\t"] {
            let bytes = tarArchive([
                TarTestEntry(name: "PaxHeaders/x", contents: Array(records.utf8), type: "x"),
                TarTestEntry(name: "file", contents: [1]),
            ])
            XCTAssertThrowsError(try TarReader.files(in: bytes, file: "test.tar"), records) { error in
                XCTAssertEqual(error as? FormatError, FormatError(file: "test.tar", kind: .invalidTar("malformed pax header record at byte 0 of the extended header")), records)
            }
        }
    }

    /// Long names and pax headers are held in memory, so their size is bounded before any is collected.
    func testOversizedLongNameIsAnError() {
        let bytes = header(name: "././@LongLink", sizeField: Array("00004000001\0".utf8), type: "L")
        XCTAssertThrowsError(try TarReader.files(in: bytes, file: "test.tar")) { error in
            XCTAssertEqual(error as? FormatError, FormatError(file: "test.tar", kind: .invalidTar("a GNU long name of 1048577 bytes; at most 1048576 are accepted")))
        }
    }
}
