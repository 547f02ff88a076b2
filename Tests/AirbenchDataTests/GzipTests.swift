import AirbenchData
import XCTest

final class GzipTests: XCTestCase {
    private let vectors: [(name: String, compressed: [UInt8], plain: [UInt8])] = [
        ("stored", GzipVectors.stored, GzipVectors.plainStored),
        ("fixed", GzipVectors.fixed, GzipVectors.plainFixed),
        ("dynamic", GzipVectors.dynamic, GzipVectors.plainDynamic),
        ("longCodes", GzipVectors.longCodes, GzipVectors.plainLongCodes),
        ("multiBlock", GzipVectors.multiBlock, GzipVectors.plainMultiBlock),
    ]

    func testDecodesZlibVectors() throws {
        for vector in vectors {
            XCTAssertEqual(try Gzip.decompress(vector.compressed), vector.plain, vector.name)
        }
    }

    /// Small output chunks force many flushes and window slides (after the first 32 KiB), with
    /// matches reaching back across them.
    func testDecodesWithSmallOutputChunks() throws {
        for vector in vectors {
            var pieces: [Int] = []
            var output: [UInt8] = []
            try vector.compressed.withUnsafeBytes { input in
                try Gzip.decompress(input, chunkSize: 1000) { piece in
                    pieces.append(piece.count)
                    output.append(contentsOf: piece)
                }
            }
            XCTAssertEqual(output, vector.plain, vector.name)
            XCTAssertTrue(pieces.allSatisfy { $0 <= 32 * 1024 + 1000 + 258 }, "\(vector.name): pieces \(pieces)")
            if vector.plain.count > 40_000 {
                XCTAssertTrue(pieces.dropFirst().allSatisfy { $0 <= 1000 + 258 }, "\(vector.name): pieces \(pieces)")
                XCTAssertGreaterThan(pieces.count, 40, vector.name)
            }
        }
    }

    func testStoredBlocksWrittenByTheTest() throws {
        let payload = GzipVectors.xorshiftBytes(count: 150_000, seed: 5) { UInt8(truncatingIfNeeded: $0) }
        XCTAssertEqual(try Gzip.decompress(storedGzip(payload)), payload)
        XCTAssertEqual(try Gzip.decompress(storedGzip([])), [])
    }

    func testConcatenatedMembersAndTrailingZeros() throws {
        let twice = GzipVectors.fixed + GzipVectors.stored + [0, 0, 0, 0]
        XCTAssertEqual(try Gzip.decompress(twice), GzipVectors.plainFixed + GzipVectors.plainStored)
    }

    func testCorruptCRCIsAnError() {
        var corrupt = GzipVectors.dynamic
        corrupt[corrupt.count - 8] ^= 0x01
        assertArchiveError(try Gzip.decompress(corrupt), mentions: "CRC-32") {
            if case .checksumMismatch = $0 { return true } else { return false }
        }
    }

    func testWrongLengthIsAnError() {
        var corrupt = GzipVectors.fixed
        corrupt[corrupt.count - 4] ^= 0x01
        assertArchiveError(try Gzip.decompress(corrupt), mentions: "ISIZE") {
            if case .checksumMismatch = $0 { return true } else { return false }
        }
    }

    func testCorruptHeaderCRCIsAnError() {
        var corrupt = GzipVectors.multiBlock
        corrupt[10 + 2 + 4 + 9 + 10] ^= 0xFF  // first byte of the FHCRC field
        assertArchiveError(try Gzip.decompress(corrupt), mentions: "header CRC-16")
    }

    func testTruncatedStreamIsAnError() {
        for vector in vectors {
            for cut in [vector.compressed.count - 1, vector.compressed.count - 9, vector.compressed.count / 2, 12, 5] {
                XCTAssertThrowsError(try Gzip.decompress(Array(vector.compressed.prefix(cut))), "\(vector.name) cut at \(cut)") { error in
                    XCTAssertTrue(error is ArchiveError, "\(error)")
                }
            }
        }
    }

    func testMalformedFramingAndBlocks() {
        assertArchiveError(try Gzip.decompress(Array("plain text, not gzip".utf8)), mentions: "magic")
        var method = GzipVectors.fixed
        method[2] = 7
        assertArchiveError(try Gzip.decompress(method), mentions: "method 7")
        var reservedFlags = GzipVectors.fixed
        reservedFlags[3] = 0x20
        assertArchiveError(try Gzip.decompress(reservedFlags), mentions: "reserved header flags")
        var blockType = GzipVectors.fixed
        blockType[10] = 0b111  // final block of reserved type 3
        assertArchiveError(try Gzip.decompress(blockType), mentions: "block type 3")
        var storedLength = GzipVectors.stored
        storedLength[13] ^= 0xFF  // NLEN no longer the complement of LEN
        assertArchiveError(try Gzip.decompress(storedLength), mentions: "complement")
        assertArchiveError(try Gzip.decompress(GzipVectors.fixed + [0x42]), mentions: "magic")
    }

    private func assertArchiveError<T>(
        _ body: @autoclosure () throws -> T, mentions text: String, file: StaticString = #filePath, line: UInt = #line,
        check: (ArchiveError) -> Bool = { _ in true }
    ) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            guard let error = error as? ArchiveError else {
                return XCTFail("expected ArchiveError, got \(error)", file: file, line: line)
            }
            XCTAssertTrue(check(error), "unexpected case \(error)", file: file, line: line)
            XCTAssertTrue(error.description.contains(text), "\"\(error)\" does not mention \(text)", file: file, line: line)
        }
    }
}
