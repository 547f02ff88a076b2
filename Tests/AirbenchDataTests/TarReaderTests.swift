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
        let files = try TarReader.files(in: archive)
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
            var reader = TarReader()
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
            let whole = try TarReader.files(in: bytes)
            XCTAssertEqual(files.map(\.0), whole.map(\.path), "piece size \(pieceSize)")
            XCTAssertEqual(files.map(\.1), whole.map(\.contents), "piece size \(pieceSize)")
        }
    }

    func testBadChecksumIsAnError() {
        var bytes = archive
        bytes[512 + 10] ^= 0x01  // a name byte of the second header
        XCTAssertThrowsError(try TarReader.files(in: bytes)) { error in
            XCTAssertTrue("\(error)".contains("checksum"), "\(error)")
        }
    }

    func testArchiveCutInsideAFileIsAnError() {
        let bytes = Array(archive.prefix(512 * 8 + 100))  // 100 bytes into the 1,500-byte file
        XCTAssertThrowsError(try TarReader.files(in: bytes)) { error in
            XCTAssertEqual(error as? ArchiveError, .truncated("tar archive"))
        }
    }

    func testExtractorRefusesPathsOutsideTheFolder() throws {
        let folder = try makeTemporaryFolder()
        let archiveFile = folder.appendingPathComponent("evil.tar.gz")
        try Data(storedGzip(tarArchive([TarTestEntry(name: "../escape.txt", contents: [1])]))).write(to: archiveFile)
        let target = folder.appendingPathComponent("target")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        assertCIFAR10Error(try ArchiveExtractor.extractTarGzip(archiveFile, into: target), mentions: ["evil.tar.gz", "../escape.txt"])
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
}
