import AirbenchData
import AirbenchFormats
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
            XCTAssertEqual(try Gzip.decompress(vector.compressed, file: "test.gz"), vector.plain, vector.name)
        }
    }

    /// Small output chunks force many pieces, with back-references reaching across them.
    func testDecodesWithSmallOutputChunks() throws {
        for vector in vectors {
            var pieces: [Int] = []
            var output: [UInt8] = []
            try vector.compressed.withUnsafeBytes { input in
                try Gzip.decompress(input, file: "test.gz", chunkSize: 1000) { piece in
                    pieces.append(piece.count)
                    output.append(contentsOf: piece)
                }
            }
            XCTAssertEqual(output, vector.plain, vector.name)
            XCTAssertTrue(pieces.allSatisfy { $0 > 0 && $0 <= 1000 }, "\(vector.name): pieces \(pieces)")
            XCTAssertGreaterThanOrEqual(pieces.count, (vector.plain.count + 999) / 1000, vector.name)
        }
    }

    func testStoredBlocksWrittenByTheTest() throws {
        let payload = GzipVectors.xorshiftBytes(count: 150_000, seed: 5) { UInt8(truncatingIfNeeded: $0) }
        XCTAssertEqual(try Gzip.decompress(storedGzip(payload), file: "test.gz"), payload)
        XCTAssertEqual(try Gzip.decompress(storedGzip([]), file: "test.gz"), [])
    }

    func testConcatenatedMembersAndTrailingZeros() throws {
        let twice = GzipVectors.fixed + GzipVectors.stored + [0, 0, 0, 0]
        XCTAssertEqual(try Gzip.decompress(twice, file: "test.gz"), GzipVectors.plainFixed + GzipVectors.plainStored)
    }

    /// The stored and computed values in the message are the real ones: the stored CRC-32 with the
    /// flipped bit, and the CRC-32 of the plain text computed by the test's own bitwise CRC.
    func testCorruptCRCIsAnError() {
        var corrupt = GzipVectors.dynamic
        corrupt[corrupt.count - 8] ^= 0x01
        let stored = crc32(GzipVectors.plainDynamic) ^ 0x01
        assertArchiveError(try Gzip.decompress(corrupt, file: "test.gz"), mentions: "CRC-32") {
            $0 == .checksumMismatch(what: "gzip CRC-32", stored: stored, computed: crc32(GzipVectors.plainDynamic))
        }
    }

    func testWrongLengthIsAnError() {
        var corrupt = GzipVectors.fixed
        corrupt[corrupt.count - 4] ^= 0x01
        let length = UInt32(GzipVectors.plainFixed.count)
        assertArchiveError(try Gzip.decompress(corrupt, file: "test.gz"), mentions: "ISIZE") {
            $0 == .checksumMismatch(what: "gzip length (ISIZE)", stored: length ^ 0x01, computed: length)
        }
    }

    /// Any damaged byte of the CRC-32 is caught, for streams of many sizes written by the test with its
    /// own CRC-32 (which matches the published check value of "123456789").
    func testCRC32OfStreamsWrittenByTheTest() throws {
        XCTAssertEqual(crc32(Array("123456789".utf8)), 0xCBF4_3926)
        for size in [0, 1, 7, 8, 9, 1000, 70_000] {
            let payload = GzipVectors.xorshiftBytes(count: size, seed: UInt32(size + 1)) { UInt8(truncatingIfNeeded: $0) }
            let good = storedGzip(payload)
            XCTAssertEqual(try Gzip.decompress(good, file: "test.gz"), payload, "size \(size)")
            for byte in 0 ..< 4 {
                var bad = good
                bad[bad.count - 8 + byte] ^= 0x80
                let stored = crc32(payload) ^ (0x80 << (8 * UInt32(byte)))
                assertArchiveError(try Gzip.decompress(bad, file: "test.gz"), mentions: "CRC-32") {
                    $0 == .checksumMismatch(what: "gzip CRC-32", stored: stored, computed: crc32(payload))
                }
            }
        }
    }

    func testCorruptHeaderCRCIsAnError() {
        var corrupt = GzipVectors.multiBlock
        corrupt[10 + 2 + 4 + 9 + 10] ^= 0xFF  // first byte of the FHCRC field
        assertArchiveError(try Gzip.decompress(corrupt, file: "test.gz"), mentions: "header CRC-16") {
            $0 == .checksumMismatch(what: "gzip header CRC-16", stored: nil, computed: nil)
        }
    }

    func testTruncatedStreamIsAnError() {
        for vector in vectors {
            for cut in [vector.compressed.count - 1, vector.compressed.count - 9, vector.compressed.count / 2, 12, 5] {
                XCTAssertThrowsError(try Gzip.decompress(Array(vector.compressed.prefix(cut)), file: "test.gz"), "\(vector.name) cut at \(cut)") { error in
                    guard case .truncated? = (error as? FormatError)?.kind else { return XCTFail("\(vector.name) cut at \(cut): \(error)") }
                    XCTAssertTrue("\(error)".contains("unexpected end of data in gzip member 1"), "\(error)")
                }
            }
        }
        assertArchiveError(try Gzip.decompress([], file: "test.gz"), mentions: "no data")
        // A second member cut short is reported as such.
        assertArchiveError(try Gzip.decompress(GzipVectors.fixed + GzipVectors.stored.prefix(20), file: "test.gz"), mentions: "gzip member 2")
    }

    func testMalformedFramingAndBlocks() {
        assertArchiveError(try Gzip.decompress(Array("plain text, not gzip".utf8), file: "test.gz"), mentions: "magic")
        var method = GzipVectors.fixed
        method[2] = 7
        assertArchiveError(try Gzip.decompress(method, file: "test.gz"), mentions: "method 7")
        var reservedFlags = GzipVectors.fixed
        reservedFlags[3] = 0x20
        assertArchiveError(try Gzip.decompress(reservedFlags, file: "test.gz"), mentions: "reserved header flags")
        var blockType = GzipVectors.fixed
        blockType[10] = 0b111  // final block of reserved type 3
        assertArchiveError(try Gzip.decompress(blockType, file: "test.gz"), mentions: "invalid block type") {
            if case .invalidDeflate = $0 { return true } else { return false }
        }
        var storedLength = GzipVectors.stored
        storedLength[13] ^= 0xFF  // NLEN no longer the complement of LEN
        assertArchiveError(try Gzip.decompress(storedLength, file: "test.gz"), mentions: "invalid stored block lengths")
        assertArchiveError(try Gzip.decompress(GzipVectors.fixed + [0x42], file: "test.gz"), mentions: "magic bytes 1f 8b missing at byte \(GzipVectors.fixed.count)")
        var farBack = GzipVectors.fixed
        farBack[10] = 0x03  // fixed block; a 3-byte match at distance 1 before any output
        farBack[11] = 0x02
        farBack[12] = 0x00
        assertArchiveError(try Gzip.decompress(farBack, file: "test.gz"), mentions: "DEFLATE")
    }

    private func assertArchiveError<T>(
        _ body: @autoclosure () throws -> T, mentions text: String, file: StaticString = #filePath, line: UInt = #line,
        check: (FormatError.Kind) -> Bool = { _ in true }
    ) {
        assertFormatError(try body(), about: "test.gz", mentions: [text], file: file, line: line, check: check)
    }
}
