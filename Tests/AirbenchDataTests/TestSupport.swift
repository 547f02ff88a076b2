import AirbenchData
import Foundation
import XCTest

/// Bytes from a string of hex digits.
func hexBytes(_ hex: String) -> [UInt8] {
    let digits = Array(hex.utf8)
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(decoding: digits[$0 ..< $0 + 2], as: UTF8.self), radix: 16)! }
}

extension XCTestCase {
    /// A fresh folder removed when the test ends.
    func makeTemporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("AirbenchDataTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        return folder
    }
}

/// A gzip stream holding `payload` in stored (uncompressed) blocks: the one kind of DEFLATE a test
/// can write without a compressor.
func storedGzip(_ payload: [UInt8]) -> [UInt8] {
    var bytes: [UInt8] = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3]
    var offset = 0
    repeat {
        let length = min(65_535, payload.count - offset)
        let isFinal = offset + length == payload.count
        bytes.append(isFinal ? 1 : 0)
        bytes += littleEndian(UInt32(length), width: 2) + littleEndian(UInt32(~length & 0xFFFF), width: 2)
        bytes += payload[offset ..< offset + length]
        offset += length
    } while offset < payload.count
    bytes += littleEndian(crc32(payload), width: 4) + littleEndian(UInt32(truncatingIfNeeded: payload.count), width: 4)
    return bytes
}

/// A zlib (RFC 1950) stream holding `payload` in stored blocks, with its Adler-32: zlib data a test
/// can write without a compressor.
func storedZlib(_ payload: [UInt8]) -> [UInt8] {
    var bytes: [UInt8] = [0x78, 0x01]
    var offset = 0
    repeat {
        let length = min(65_535, payload.count - offset)
        bytes.append(offset + length == payload.count ? 1 : 0)
        bytes += littleEndian(UInt32(length), width: 2) + littleEndian(UInt32(~length & 0xFFFF), width: 2)
        bytes += payload[offset ..< offset + length]
        offset += length
    } while offset < payload.count
    return bytes + bigEndian(adler32(payload))
}

/// Adler-32 (RFC 1950), computed the slow way.
func adler32(_ bytes: [UInt8]) -> UInt32 {
    var a: UInt32 = 1
    var b: UInt32 = 0
    for byte in bytes {
        a = (a + UInt32(byte)) % 65_521
        b = (b + a) % 65_521
    }
    return b << 16 | a
}

func bigEndian(_ value: UInt32) -> [UInt8] {
    (0 ..< 4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * UInt32($0))) }
}

func littleEndian(_ value: UInt32, width: Int) -> [UInt8] {
    (0 ..< width).map { UInt8(truncatingIfNeeded: value >> (8 * UInt32($0))) }
}

/// Bitwise CRC-32, independent of the library's table-driven one.
func crc32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0 ..< 8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
}

/// One tar entry for `tarArchive`.
struct TarTestEntry {
    var name: String
    var contents: [UInt8] = []
    /// The header's type flag: "0" file, "5" directory, "L" GNU long name, "x" pax header, "2" symlink.
    var type: Character = "0"
}

/// A ustar archive written header by header, ending with two zero blocks.
func tarArchive(_ entries: [TarTestEntry]) -> [UInt8] {
    var archive: [UInt8] = []
    for entry in entries {
        archive += tarHeader(name: entry.name, size: entry.contents.count, type: entry.type)
        archive += entry.contents
        archive += [UInt8](repeating: 0, count: (512 - entry.contents.count % 512) % 512)
    }
    return archive + [UInt8](repeating: 0, count: 1024)
}

func tarHeader(name: String, size: Int, type: Character) -> [UInt8] {
    var header = [UInt8](repeating: 0, count: 512)
    func put(_ text: String, at offset: Int) {
        for (index, byte) in text.utf8.enumerated() { header[offset + index] = byte }
    }
    func octal(_ value: Int, width: Int) -> String {
        let digits = String(value, radix: 8)
        return String(repeating: "0", count: width - 1 - digits.count) + digits
    }
    put(String(name.prefix(100)), at: 0)
    put(octal(0o644, width: 8), at: 100)
    put(octal(0, width: 8), at: 108)
    put(octal(0, width: 8), at: 116)
    put(octal(size, width: 12), at: 124)
    put(octal(0, width: 12), at: 136)
    put(String(type), at: 156)
    put("ustar", at: 257)
    put("00", at: 263)
    put("        ", at: 148)
    let sum = header.reduce(0) { $0 + Int($1) }
    put(octal(sum, width: 7), at: 148)
    return header
}

/// A batch file of `records` random records in the binary layout, with the given labels.
func batchFile(records: Int, seed: UInt64, labels: [UInt8]? = nil) -> [UInt8] {
    var generator = SeededGenerator(seed: seed)
    var bytes: [UInt8] = []
    bytes.reserveCapacity(records * 3073)
    for record in 0 ..< records {
        bytes.append(labels?[record] ?? UInt8(record % 10))
        for _ in 0 ..< 3072 { bytes.append(UInt8(truncatingIfNeeded: generator.next())) }
    }
    return bytes
}

/// Records per file in the small test data sets.
let testRecords = 10

/// Writes the six batch files of `testRecords` records each into `folder`; returns their contents by name.
@discardableResult
func writeBatchFiles(into folder: URL, records: Int = testRecords) throws -> [String: [UInt8]] {
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    var files: [String: [UInt8]] = [:]
    for (index, name) in CIFAR10.batchFileNames.enumerated() {
        let bytes = batchFile(records: records, seed: UInt64(index + 1))
        try Data(bytes).write(to: folder.appendingPathComponent(name))
        files[name] = bytes
    }
    return files
}

/// A `.tar.gz` (stored blocks) holding `cifar-10-batches-bin/` with the six small batch files.
func batchArchive(records: Int = testRecords) -> [UInt8] {
    let entries = [TarTestEntry(name: "cifar-10-batches-bin/", type: "5")]
        + CIFAR10.batchFileNames.enumerated().map { index, name in
            TarTestEntry(name: "cifar-10-batches-bin/" + name, contents: batchFile(records: records, seed: UInt64(index + 1)))
        }
    return storedGzip(tarArchive(entries))
}

/// Asserts that `body` throws a `DataError` whose description mentions every string in `mentions`.
func assertDataError<T>(
    _ body: @autoclosure () throws -> T, mentions: [String], file: StaticString = #filePath, line: UInt = #line,
    check: (DataError) -> Bool = { _ in true }
) {
    XCTAssertThrowsError(try body(), file: file, line: line) { error in
        guard let error = error as? DataError else {
            return XCTFail("expected DataError, got \(error)", file: file, line: line)
        }
        XCTAssertTrue(check(error), "unexpected case: \(error)", file: file, line: line)
        for text in mentions {
            XCTAssertTrue(error.description.contains(text), "\"\(error)\" does not mention \(text)", file: file, line: line)
        }
    }
}

/// Asserts that `body` throws a `FormatError` about the file `path` whose description starts with the path and
/// mentions every string in `mentions`, and whose kind passes `check`.
func assertFormatError<T>(
    _ body: @autoclosure () throws -> T, about path: String, mentions: [String] = [],
    file: StaticString = #filePath, line: UInt = #line, check: (FormatError.Kind) -> Bool = { _ in true }
) {
    XCTAssertThrowsError(try body(), file: file, line: line) { error in
        guard let error = error as? FormatError else {
            return XCTFail("expected FormatError, got \(error)", file: file, line: line)
        }
        XCTAssertEqual(error.file, path, file: file, line: line)
        XCTAssertTrue(error.description.hasPrefix(path + ": "), "\"\(error)\" does not start with the file", file: file, line: line)
        XCTAssertTrue(check(error.kind), "unexpected kind: \(error)", file: file, line: line)
        for text in mentions {
            XCTAssertTrue(error.description.contains(text), "\"\(error)\" does not mention \(text)", file: file, line: line)
        }
    }
}
