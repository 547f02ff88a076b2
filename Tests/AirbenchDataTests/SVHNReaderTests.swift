import AirbenchFormats
import Foundation
import XCTest

/// Reads the sample written with scipy.io.savemat by `scripts/make_svhn_sample.py` and compares with what
/// that script, independently (numpy), says the reader must produce.
final class SVHNReaderTests: XCTestCase {
    private func sampleFolder() throws -> URL {
        try XCTUnwrap(
            Bundle.module.url(forResource: "svhn-sample", withExtension: nil, subdirectory: "Fixtures"),
            "the SVHN sample is not in the test bundle")
    }

    private func sample(_ name: String) throws -> [UInt8] {
        try [UInt8](Data(contentsOf: try sampleFolder().appendingPathComponent(name)))
    }

    /// A folder holding the three sample files under their official names, for tests that damage them.
    private func sampleCopy() throws -> URL {
        let folder = try makeTemporaryFolder().appendingPathComponent("svhn")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for name in ["train_32x32.mat", "test_32x32.mat", "extra_32x32.mat"] {
            try FileManager.default.copyItem(
                at: try sampleFolder().appendingPathComponent(name), to: folder.appendingPathComponent(name))
        }
        return folder
    }

    private func check(_ split: ImageSplit, against expectedName: String, count: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let expected = try sample(expectedName)
        XCTAssertEqual(expected.count, count * (1 + 3072), expectedName, file: file, line: line)
        XCTAssertEqual(split.count, count, expectedName, file: file, line: line)
        XCTAssertEqual(split.labels, Array(expected[0 ..< count]), expectedName, file: file, line: line)
        XCTAssertEqual(split.images, Array(expected[count...]), expectedName, file: file, line: line)
    }

    func testReadsUncompressedAndCompressedFilesExactly() throws {
        let data = try SVHN.load(folder: try sampleFolder(), includeExtra: true)
        // train: y uint8, plain miMATRIX elements; test: y double inside miCOMPRESSED (zlib) elements;
        // extra: a char variable before X that the reader skips.
        try check(data.train, against: "train.expected", count: 5)
        try check(data.test, against: "test.expected", count: 3)
        try check(try XCTUnwrap(data.extra), against: "extra.expected", count: 2)
        // Label 10 is the digit 0; the script wrote 10, 1, 9, 5, 10 and 3, 10, 7.
        XCTAssertEqual(data.train.labels, [0, 1, 9, 5, 0])
        XCTAssertEqual(data.test.labels, [3, 0, 7])
        // The compressed file really is compressed (what this test is for).
        let test = try sample("test_32x32.mat")
        XCTAssertEqual(test[128], 15, "test_32x32.mat should start with a miCOMPRESSED element")
        XCTAssertEqual(try sample("train_32x32.mat")[128], 14, "train_32x32.mat should start with a miMATRIX element")
        XCTAssertNil(try SVHN.load(folder: try sampleFolder(), includeExtra: false).extra)
    }

    /// Any number of images is a well-formed file (the samples hold 5, 3 and 2); none is an empty copy, an error.
    func testAFileWithoutImagesIsAnError() throws {
        let two = try matFile(x: [UInt8](repeating: 7, count: 2 * 3072), count: 2, y: [1, 10])
        XCTAssertEqual(try two.withUnsafeBytes { try SVHN.parse($0, path: "two.mat") }.labels, [1, 0])
        let none = try matFile(x: [], count: 0, y: [])
        assertFormatError(try none.withUnsafeBytes { try SVHN.parse($0, path: "none.mat") }, about: "none.mat",
                          mentions: ["holds no images"]) { $0 == .noImages }
        XCTAssertEqual(SVHN.trainFile.md5, "e26dedcc434d2e4c54c9b2d4a06d8373")
        XCTAssertEqual(SVHN.testFile.images + SVHN.trainFile.images + SVHN.extraFile.images, 630_420)
    }

    /// An uncompressed MAT-file written here: the sample's header, then `X` (uint8, 32 × 32 × 3 × `count`, the bytes
    /// `x`) and `y` (uint8, `count` × 1).
    private func matFile(x: [UInt8], count: Int, y: [UInt8]) throws -> [UInt8] {
        func element(_ type: UInt32, _ bytes: [UInt8]) -> [UInt8] {
            littleEndian(type, width: 4) + littleEndian(UInt32(bytes.count), width: 4) + bytes
                + [UInt8](repeating: 0, count: (8 - bytes.count % 8) % 8)
        }
        func uint8Matrix(_ name: String, dimensions: [Int], data: [UInt8]) -> [UInt8] {
            let flags = element(6, littleEndian(9, width: 4) + [0, 0, 0, 0])  // miUINT32; class 9 is uint8
            let dims = element(5, dimensions.flatMap { littleEndian(UInt32($0), width: 4) })  // miINT32
            return element(14, flags + dims + element(1, Array(name.utf8)) + element(2, data))  // miMATRIX; miINT8, miUINT8
        }
        return Array(try sample("train_32x32.mat")[0 ..< 128])
            + uint8Matrix("X", dimensions: [32, 32, 3, count], data: x) + uint8Matrix("y", dimensions: [count, 1], data: y)
    }

    func testMissingFileNamesItAndTheExpectedFiles() throws {
        let folder = try sampleCopy()
        let test = folder.appendingPathComponent("test_32x32.mat")
        try FileManager.default.removeItem(at: test)
        assertFormatError(
            try SVHN.load(folder: folder, includeExtra: false), about: test.path,
            mentions: ["not found", "SVHN", "train_32x32.mat, test_32x32.mat"]
        ) { $0 == .missingFile(dataSet: "SVHN", expected: ["train_32x32.mat", "test_32x32.mat"]) }
        XCTAssertThrowsError(try SVHN.read(test))
    }

    func testBadVariablesAreRejectedWithTheReason() throws {
        let bad = try sampleFolder().appendingPathComponent("bad")
        func path(_ name: String) -> String { bad.appendingPathComponent(name).path }
        func read(_ name: String) throws -> ImageSplit { try SVHN.read(bad.appendingPathComponent(name)) }
        assertFormatError(try read("x-double.mat"), about: path("x-double.mat"), mentions: ["'X'", "double", "expected uint8"])
        assertFormatError(try read("x-shape.mat"), about: path("x-shape.mat"), mentions: ["'X'", "32 × 32 × 2 × 1", "32 × 32 × 3 × N"])
        assertFormatError(try read("y-eleven.mat"), about: path("y-eleven.mat"), mentions: ["y(2) is 11.0", "1–10"]) {
            $0 == .invalidDigitLabel(index: 1, value: 11)
        }
        assertFormatError(try read("y-zero.mat"), about: path("y-zero.mat"), mentions: ["y(1) is 0.0"])
        assertFormatError(try read("y-fraction.mat"), about: path("y-fraction.mat"), mentions: ["y(3) is 2.5"])
        assertFormatError(try read("y-int16.mat"), about: path("y-int16.mat"), mentions: ["'y'", "int16", "uint8 or double"])
        assertFormatError(try read("missing-y.mat"), about: path("missing-y.mat"), mentions: ["no variable 'y'"]) {
            $0 == .missingVariable(name: "y")
        }
        assertFormatError(try read("count-mismatch.mat"), about: path("count-mismatch.mat"), mentions: ["2 images", "3 labels"]) {
            $0 == .countMismatch(images: 2, labels: 3)
        }
    }

    /// Every cut of the files, at every byte of the first elements and then in steps, is an error
    /// naming the file, never a crash or a partial result.
    func testTruncatedFilesAreMalformed() throws {
        for name in ["train_32x32.mat", "test_32x32.mat"] {
            let bytes = try sample(name)
            var cuts = Array(0 ..< 400)
            cuts += stride(from: 400, to: bytes.count, by: 97)
            cuts.append(bytes.count - 1)
            for cut in cuts {
                let prefix = Array(bytes[0 ..< cut])
                XCTAssertThrowsError(try prefix.withUnsafeBytes { try SVHN.parse($0, path: "cut.mat") }, "\(name) cut at \(cut)") { error in
                    // A cut between two elements leaves a well-formed file without a variable; any other cut is malformed.
                    let error = error as? FormatError
                    XCTAssertEqual(error?.file, "cut.mat")
                    switch error?.kind {
                    case .invalidMAT?, .missingVariable?: break
                    default: XCTFail("\(name) cut at \(cut): expected .invalidMAT, got \(String(describing: error))")
                    }
                }
            }
        }
        let bytes = try sample("train_32x32.mat")
        assertMalformed(Array(bytes[0 ..< 100]), mentions: ["100 bytes", "128-byte MAT-file header"])
        assertMalformed(Array(bytes[0 ..< 140]), mentions: ["byte 128", "truncated", "declares 15416 bytes, 4 remain"])
    }

    func testDamagedHeadersAndElements() throws {
        let plain = try sample("train_32x32.mat")
        func patched(_ bytes: [UInt8], _ edits: [Int: UInt8]) -> [UInt8] {
            var copy = bytes
            for (offset, value) in edits { copy[offset] = value }
            return copy
        }
        assertMalformed(patched(plain, [126: UInt8(ascii: "M"), 127: UInt8(ascii: "I")]), mentions: ["big-endian"])
        assertMalformed(patched(plain, [126: 0, 127: 0]), mentions: ["not a MATLAB 5 MAT-file"])
        assertMalformed(patched(plain, [124: 0, 125: 2]), mentions: ["7.3", "HDF5"])
        assertMalformed(patched(plain, [124: 1, 125: 0]), mentions: ["version 0x1"])
        // The first element's type: 7 (miSINGLE) is not allowed at the top level.
        assertMalformed(patched(plain, [128: 7]), mentions: ["byte 128", "miSINGLE (7)", "top level"])
        // The first element's size (bytes 132–135), raised past the end of the file; a type word with
        // bits in its upper half is the small format, which holds at most 4 bytes.
        assertMalformed(patched(plain, [135: 0x7F]), mentions: ["byte 128", "truncated", "miMATRIX (14) declares 2130721848 bytes"])
        assertMalformed(patched(plain, [131: 0x7F]), mentions: ["byte 128", "small data element declares 32512 bytes"])
        // Array flags (at 136): class 0 is unknown; the complex bit makes the data too short.
        assertMalformed(patched(plain, [144: 0]), mentions: ["unknown array class 0"])
        assertMalformed(patched(plain, [145: 0x08]), mentions: ["variable 'X'", "truncated", "tag needs 8 bytes, 0 remain"])
        // Dimensions (at 152, 4 × Int32): 33 rows no longer match the data; a negative one is rejected.
        assertMalformed(patched(plain, [160: 33]), mentions: ["variable 'X'", "real part holds 15360 bytes", "[33, 32, 3, 5]"])
        assertMalformed(patched(plain, [163: 0x80]), mentions: ["dimension 1 is -2147483616"])
        // The name is a small data element at 176: type 1 (miINT8), 1 byte, "X".
        assertMalformed(patched(plain, [176: 2]), mentions: ["array name must be a miINT8 element", "miUINT8 (2)"])
        assertMalformed(patched(plain, [180: 0x01]), mentions: ["not printable ASCII"])
        assertMalformed(patched(plain, [178: 9]), mentions: ["small data element declares 9 bytes"])
        // The real part's type (at 184): miINT16 gives the wrong byte count, miUTF8 is not numeric.
        assertMalformed(patched(plain, [184: 3]), mentions: ["real part holds 15360 bytes of miINT16"])
        assertMalformed(patched(plain, [184: 16]), mentions: ["real part is miUTF8 (16), not a numeric type"])
    }

    func testDamagedCompressedElements() throws {
        let compressed = try sample("test_32x32.mat")
        let size = Int(compressed[132]) | Int(compressed[133]) << 8 | Int(compressed[134]) << 16
        // A flipped byte inside the zlib stream: bad DEFLATE data or a wrong Adler-32, never silent.
        var flipped = compressed
        flipped[136 + size / 2] ^= 0x55
        assertMalformed(flipped, mentions: ["miCOMPRESSED element at byte 128"])
        // The last byte of the Adler-32.
        flipped = compressed
        flipped[136 + size - 1] ^= 1
        assertMalformed(flipped, mentions: ["miCOMPRESSED element at byte 128", "Adler-32"])
        // Not zlib at all.
        flipped = compressed
        flipped[136] = 0
        assertMalformed(flipped, mentions: ["miCOMPRESSED element at byte 128", "invalid DEFLATE data"])
        // The compressed element's size cut by one byte: the zlib stream runs past it.
        var shorter = compressed
        shorter[132] = UInt8((size - 1) & 0xFF)
        shorter[133] = UInt8((size - 1) >> 8 & 0xFF)
        shorter.remove(at: 136 + size - 1)
        assertMalformed(shorter, mentions: ["miCOMPRESSED element at byte 128", "unexpected end of data"])
        // One byte more than the stream: something after the zlib stream inside the element.
        var longer = compressed
        longer[132] = UInt8((size + 1) & 0xFF)
        longer[133] = UInt8((size + 1) >> 8 & 0xFF)
        longer.insert(0, at: 136 + size)
        assertMalformed(longer, mentions: ["1 bytes follow the end of its zlib stream"])
    }

    /// Hand-built compressed elements whose inner tag lies about its size: too large to be possible,
    /// smaller than the data, larger than the data. Nothing is allocated for a size the bytes cannot hold.
    func testCompressedElementSizeFieldsAreChecked() throws {
        let plain = try sample("train_32x32.mat")
        let header = Array(plain[0 ..< 128])
        let matrixElement = Array(plain[128...])  // the X element, then the y element
        let xSize = Int(plain[132]) | Int(plain[133]) << 8 | Int(plain[134]) << 16
        let xElement = Array(matrixElement[0 ..< 8 + xSize])
        func compressedElement(_ inner: [UInt8]) -> [UInt8] {
            let stream = storedZlib(inner)
            return [15, 0, 0, 0] + littleEndian(UInt32(stream.count), width: 4) + stream
        }
        // The real X element compressed by hand: reads the same as uncompressed.
        let yElement = Array(matrixElement[(8 + xSize)...])
        let rewritten = header + (compressedElement(xElement)) + yElement
        let viaZlib = try rewritten.withUnsafeBytes { try SVHN.parse($0, path: "x.mat") }
        let direct = try plain.withUnsafeBytes { try SVHN.parse($0, path: "x.mat") }
        XCTAssertEqual(viaZlib.images, direct.images)
        XCTAssertEqual(viaZlib.labels, direct.labels)

        var huge = xElement
        huge[4] = 0xF8; huge[5] = 0xFF; huge[6] = 0xFF; huge[7] = 0x7F  // 2 GiB
        assertMalformed(header + (compressedElement(huge)), mentions: ["declares 2147483640 bytes", "compressed bytes can hold"])
        var small = xElement
        small[4] = 8; small[5] = 0; small[6] = 0; small[7] = 0
        assertMalformed(header + (compressedElement(small)), mentions: ["decompresses to more than the 16 bytes"])
        var large = xElement
        large[4] = UInt8((xSize + 8) & 0xFF); large[5] = UInt8((xSize + 8) >> 8)
        assertMalformed(header + (compressedElement(large)), mentions: ["decompresses to \(8 + xSize) bytes", "must be \(16 + xSize)"])
        assertMalformed(header + (compressedElement([1, 0, 0, 0, 8, 0, 0, 0])), mentions: ["holds an element of miINT8 (1), expected miMATRIX"])
        assertMalformed(header + (compressedElement([14, 0, 0])), mentions: ["decompresses to 3 bytes, too few"])
    }

    private func assertMalformed(_ bytes: [UInt8], mentions: [String], file: StaticString = #filePath, line: UInt = #line) {
        assertFormatError(try bytes.withUnsafeBytes { try SVHN.parse($0, path: "damaged.mat") }, about: "damaged.mat",
                          mentions: ["not a readable MAT-file"] + mentions, file: file, line: line) {
            if case .invalidMAT = $0 { return true }
            return false
        }
    }
}
