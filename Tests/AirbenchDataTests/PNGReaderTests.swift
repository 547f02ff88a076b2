import AirbenchFormats
import Foundation
import XCTest

/// Decodes the PNGs written by Pillow (and by hand, one per filter type) in `scripts/make_png_samples.py`
/// and compares with the pixels that script made them from.
final class PNGReaderTests: XCTestCase {
    private func fixture(_ path: String) throws -> [UInt8] {
        let folder = try XCTUnwrap(
            Bundle.module.url(forResource: "png-sample", withExtension: nil, subdirectory: "Fixtures"),
            "the PNG sample is not in the test bundle")
        return try [UInt8](Data(contentsOf: folder.appendingPathComponent(path)))
    }

    private func decode(_ bytes: [UInt8]) throws -> PNGImage {
        try bytes.withUnsafeBytes { try PNG.decode($0, file: "image.png") }
    }

    func testPillowImagesDecodeExactly() throws {
        for (name, width, height, colorType) in [("rgb", 13, 11, 2), ("grey", 9, 6, 0), ("palette", 7, 5, 3)] {
            let image = try decode(try fixture(name + ".png"))
            XCTAssertEqual(image.width, width, name)
            XCTAssertEqual(image.height, height, name)
            XCTAssertEqual(image.colorType, UInt8(colorType), name)
            XCTAssertEqual(image.pixels, try fixture(name + ".rgb"), name)
        }
    }

    func testEveryFilterType() throws {
        for filter in 0 ... 4 {
            let bytes = try fixture("filter-\(filter).png")
            // The script wrote every row with this filter; check the first row's filter byte really is it.
            let idat = try chunkData(bytes, type: "IDAT")
            XCTAssertEqual(try storedOrInflated(idat).first, UInt8(filter))
            let image = try decode(bytes)
            XCTAssertEqual(image.width, 9)
            XCTAssertEqual(image.height, 5)
            XCTAssertEqual(image.pixels, try fixture("filter-\(filter).rgb"), "filter \(filter)")
        }
    }

    func testUnsupportedTypesAreRejectedWithTheReason() throws {
        let cases = [
            ("rgba.png", ["8-bit RGBA (colour type 6)", "only 8-bit RGB, greyscale and palette"]),
            ("grey-alpha.png", ["8-bit greyscale with alpha (colour type 4)"]),
            ("grey16.png", ["16-bit greyscale (colour type 0)"]),
            ("grey1.png", ["1-bit greyscale"]),
            ("palette4.png", ["4-bit palette (colour type 3)"]),
            ("interlaced.png", ["interlaced (Adam7)"]),
        ]
        for (name, mentions) in cases {
            assertPNGError(try decode(try fixture("bad/" + name)), mentions: mentions + ["unsupported PNG type"])
        }
    }

    func testDamagedFiles() throws {
        let good = try fixture("rgb.png")
        assertPNGError(try decode(Array(good.prefix(7))), mentions: ["signature"])
        assertPNGError(try decode([UInt8](repeating: 0, count: 64)), mentions: ["not a PNG file"])
        // Every cut is an error, never a crash or a partial image.
        for cut in 8 ..< good.count {
            XCTAssertThrowsError(try decode(Array(good.prefix(cut))), "cut at \(cut)")
        }
        assertPNGError(try decode(Array(good.prefix(8))), mentions: ["truncated", "without an IEND chunk"])
        assertPNGError(try decode(Array(good.prefix(20))), mentions: ["truncated", "byte 8", "chunk IHDR declares 13 bytes, 0 remain"])
        // A flipped bit anywhere in a chunk's type or data is caught by its CRC.
        var flipped = good
        flipped[20] ^= 1  // IHDR: a byte of the height
        assertPNGError(try decode(flipped), mentions: ["byte 8", "chunk IHDR CRC mismatch"])
        let idatOffset = try chunkOffset(good, type: "IDAT")
        flipped = good
        flipped[idatOffset + 8 + 3] ^= 0x10
        assertPNGError(try decode(flipped), mentions: ["byte \(idatOffset)", "chunk IDAT CRC mismatch"])
        // Bytes after IEND.
        assertPNGError(try decode(good + [0]), mentions: ["1 bytes after the IEND chunk"])
        // An IDAT length beyond the file, and over 2^31 - 1.
        var long = good
        long[idatOffset] = 0x00; long[idatOffset + 1] = 0x10; long[idatOffset + 2] = 0; long[idatOffset + 3] = 0
        assertPNGError(try decode(long), mentions: ["truncated", "chunk IDAT declares 1048576 bytes"])
        long[idatOffset] = 0x80
        assertPNGError(try decode(long), mentions: ["more than the 2^31 - 1 allowed"])
    }

    /// Files rebuilt chunk by chunk, with correct CRCs, so each reaches the check it is meant for.
    func testStructuralErrors() throws {
        let good = try fixture("rgb.png")
        let ihdr = try chunkData(good, type: "IHDR")
        let idat = try chunkData(good, type: "IDAT")
        func file(_ chunks: [(String, [UInt8])]) -> [UInt8] {
            PNG.signature + chunks.flatMap { pngChunk($0.0, $0.1) }
        }
        let end = ("IEND", [UInt8]())
        XCTAssertEqual(try decode(file([("IHDR", ihdr), ("IDAT", idat), end])).pixels, try fixture("rgb.rgb"))
        // IDAT split into three chunks, with an ancillary chunk before them: still the same image.
        let thirds = [Array(idat[0 ..< 10]), Array(idat[10 ..< 11]), Array(idat[11...])]
        XCTAssertEqual(
            try decode(file([("IHDR", ihdr), ("tEXt", Array("Comment\0x".utf8))] + thirds.map { ("IDAT", $0) } + [end])).pixels,
            try fixture("rgb.rgb"))

        assertPNGError(try decode(file([("IDAT", idat), end])), mentions: ["first chunk is IDAT"])
        assertPNGError(try decode(file([("IHDR", ihdr), end])), mentions: ["no IDAT chunk"])
        assertPNGError(try decode(file([("IHDR", ihdr), ("IDAT", idat)])), mentions: ["without an IEND chunk"])
        assertPNGError(try decode(file([("IHDR", ihdr), ("IDAT", thirds[0]), ("tEXt", [0x41]), ("IDAT", thirds[1] + thirds[2]), end])),
                       mentions: ["IDAT chunks are not consecutive"])
        assertPNGError(try decode(file([("IHDR", ihdr), ("IHDR", ihdr), ("IDAT", idat), end])), mentions: ["a second IHDR"])
        assertPNGError(try decode(file([("IHDR", ihdr), ("ABCD", []), ("IDAT", idat), end])), mentions: ["unknown critical chunk ABCD"])
        assertPNGError(try decode(file([("IHDR", ihdr), ("IDAT", idat), ("IEND", [0])])), mentions: ["IEND holds 1 bytes"])
        assertPNGError(try decode(file([("IHDR", ihdr + [0]), ("IDAT", idat), end])), mentions: ["IHDR holds 14 bytes"])

        func header(width: UInt32 = 13, height: UInt32 = 11, depth: UInt8 = 8, colour: UInt8 = 2, rest: [UInt8] = [0, 0, 0]) -> [UInt8] {
            bigEndian(width) + bigEndian(height) + [depth, colour] + rest
        }
        assertPNGError(try decode(file([("IHDR", header(width: 0)), ("IDAT", idat), end])), mentions: ["image size 0 × 11"])
        assertPNGError(try decode(file([("IHDR", header(height: 0x8000_0000)), ("IDAT", idat), end])), mentions: ["image size 13 × 2147483648"])
        assertPNGError(try decode(file([("IHDR", header(colour: 5)), ("IDAT", idat), end])), mentions: ["colour type 5 does not exist"])
        assertPNGError(try decode(file([("IHDR", header(depth: 3)), ("IDAT", idat), end])), mentions: ["bit depth 3 is not allowed for colour type 2"])
        assertPNGError(try decode(file([("IHDR", header(rest: [1, 0, 0])), ("IDAT", idat), end])), mentions: ["compression method 1"])
        assertPNGError(try decode(file([("IHDR", header(rest: [0, 1, 0])), ("IDAT", idat), end])), mentions: ["filter method 1"])
        assertPNGError(try decode(file([("IHDR", header(rest: [0, 0, 2])), ("IDAT", idat), end])), mentions: ["interlace method 2"])

        // IHDR sizes that disagree with the data: a huge image from a few bytes is refused before any
        // allocation; one row more or fewer than the stream holds is an error either way.
        assertPNGError(try decode(file([("IHDR", header(width: 1 << 30, height: 1 << 30)), ("IDAT", idat), end])),
                       mentions: ["the image needs", "more than the \(idat.count) bytes of IDAT data can hold"])
        assertPNGError(try decode(file([("IHDR", header(height: 12)), ("IDAT", idat), end])),
                       mentions: ["decompresses to \(11 * 40) bytes, the image needs \(12 * 40)"])
        assertPNGError(try decode(file([("IHDR", header(height: 10)), ("IDAT", idat), end])),
                       mentions: ["decompresses to more than the \(10 * 40) bytes"])
        assertPNGError(try decode(file([("IHDR", ihdr), ("IDAT", idat + [0]), end])), mentions: ["1 bytes of IDAT data after the end of the zlib stream"])
        assertPNGError(try decode(file([("IHDR", ihdr), ("IDAT", Array(idat.dropLast(2))), end])), mentions: ["IDAT data", "unexpected end of data"])
        var badAdler = idat
        badAdler[badAdler.count - 1] ^= 1
        assertPNGError(try decode(file([("IHDR", ihdr), ("IDAT", badAdler), end])), mentions: ["Adler-32"])

        // Hand-made streams (stored zlib blocks): a bad filter byte; palettes.
        let pixels2x1: [UInt8] = [0, 1, 2, 3, 4, 5, 6]  // filter 0, two RGB pixels
        let rgb2x1 = header(width: 2, height: 1)
        XCTAssertEqual(try decode(file([("IHDR", rgb2x1), ("IDAT", storedZlib(pixels2x1)), end])).pixels, [1, 2, 3, 4, 5, 6])
        assertPNGError(try decode(file([("IHDR", rgb2x1), ("IDAT", storedZlib([5] + pixels2x1.dropFirst())), end])),
                       mentions: ["row 0 has filter type 5"])
        let palette2x1 = header(width: 2, height: 1, colour: 3)
        let indices: [UInt8] = [0, 1, 0]
        let plte: [UInt8] = [9, 8, 7, 6, 5, 4]
        XCTAssertEqual(try decode(file([("IHDR", palette2x1), ("PLTE", plte), ("IDAT", storedZlib(indices)), end])).pixels, [6, 5, 4, 9, 8, 7])
        assertPNGError(try decode(file([("IHDR", palette2x1), ("IDAT", storedZlib(indices)), end])), mentions: ["without a PLTE chunk"])
        assertPNGError(try decode(file([("IHDR", palette2x1), ("PLTE", Array(plte.prefix(3))), ("IDAT", storedZlib(indices)), end])),
                       mentions: ["pixel (0, 0) uses palette entry 1, the palette has 1"])
        assertPNGError(try decode(file([("IHDR", palette2x1), ("PLTE", [1, 2]), ("IDAT", storedZlib(indices)), end])),
                       mentions: ["PLTE holds 2 bytes"])
        assertPNGError(try decode(file([("IHDR", header(width: 2, height: 1, colour: 0)), ("PLTE", plte), ("IDAT", storedZlib(indices)), end])),
                       mentions: ["PLTE chunk in a greyscale image"])
        // A suggested palette in an RGB image is allowed and ignored.
        XCTAssertEqual(try decode(file([("IHDR", rgb2x1), ("PLTE", plte), ("IDAT", storedZlib(pixels2x1)), end])).pixels, [1, 2, 3, 4, 5, 6])
    }

    // MARK: - Helpers (independent of the decoder)

    private func pngChunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let typeBytes = Array(type.utf8)
        return bigEndian(UInt32(data.count)) + typeBytes + data + bigEndian(crc32(typeBytes + data))
    }

    private func chunkOffset(_ png: [UInt8], type: String) throws -> Int {
        var offset = 8
        while offset + 8 <= png.count {
            let length = Int(png[offset]) << 24 | Int(png[offset + 1]) << 16 | Int(png[offset + 2]) << 8 | Int(png[offset + 3])
            if String(decoding: png[offset + 4 ..< offset + 8], as: UTF8.self) == type { return offset }
            offset += 12 + length
        }
        throw XCTSkip("no \(type) chunk")
    }

    private func chunkData(_ png: [UInt8], type: String) throws -> [UInt8] {
        let offset = try chunkOffset(png, type: type)
        let length = Int(png[offset]) << 24 | Int(png[offset + 1]) << 16 | Int(png[offset + 2]) << 8 | Int(png[offset + 3])
        return Array(png[offset + 8 ..< offset + 8 + length])
    }

    /// The first decompressed bytes of a zlib stream, via the library's inflater (only the filter byte is looked at).
    private func storedOrInflated(_ stream: [UInt8]) throws -> [UInt8] {
        var out: [UInt8] = []
        _ = try stream.withUnsafeBytes { try Zlib.inflate($0, file: "image.png") { out += $0 } }
        return out
    }

    private func assertPNGError<T>(_ body: @autoclosure () throws -> T, mentions: [String], file: StaticString = #filePath, line: UInt = #line) {
        assertFormatError(try body(), about: "image.png", mentions: mentions, file: file, line: line) {
            if case .invalidPNG = $0 { return true }
            return false
        }
    }
}

/// Reads the CINIC-10 sample (Pillow PNGs in the official folder layout) written by `scripts/make_png_samples.py`.
final class CINIC10ReaderTests: XCTestCase {
    private func sampleFolder() throws -> URL {
        try XCTUnwrap(
            Bundle.module.url(forResource: "cinic10-sample", withExtension: nil, subdirectory: "Fixtures"),
            "the CINIC-10 sample is not in the test bundle")
    }

    private func sampleCopy() throws -> URL {
        let folder = try makeTemporaryFolder().appendingPathComponent("cinic-10")
        try FileManager.default.copyItem(at: try sampleFolder(), to: folder)
        return folder
    }

    func testReadsTheThreeSplitsExactly() throws {
        let folder = try sampleFolder()
        let data = try CINIC10.load(folder: folder)
        for (name, split, perClass) in [("train", data.train, 2), ("valid", data.valid, 1), ("test", data.test, 1)] {
            let expected = try [UInt8](Data(contentsOf: folder.appendingPathComponent(name + ".expected")))
            let count = 10 * perClass
            XCTAssertEqual(expected.count, count * (1 + 3072), name)
            XCTAssertEqual(split.labels, Array(expected[0 ..< count]), name)
            XCTAssertEqual(split.images, Array(expected[count...]), name)
            XCTAssertEqual(split.labels, (0 ..< 10).flatMap { [UInt8](repeating: UInt8($0), count: perClass) }, name)
        }
        let both = data.trainAndValid
        XCTAssertEqual(both.count, 30)
        XCTAssertEqual(Array(both.images[(20 * 3072)...]), data.valid.images)
        XCTAssertEqual(Array(both.labels[20...]), data.valid.labels)
        XCTAssertEqual(try CINIC10.readSplit(folder.appendingPathComponent("test")).count, 10)
    }

    /// Class folders of any size read (the sample's hold 1 or 2 images, and one may hold more than another); an
    /// empty one, a stray file or folder and a missing folder are errors naming it.
    func testCountsAndLayoutAreChecked() throws {
        XCTAssertEqual(CINIC10.archive.md5, "6ee4d0c996905fe93221de577967a372")
        let copy = try sampleCopy()
        let ship = copy.appendingPathComponent("valid/ship")
        let shipImage = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: ship.path).first)
        try FileManager.default.copyItem(at: ship.appendingPathComponent(shipImage), to: ship.appendingPathComponent("zz-copy.png"))
        let uneven = try CINIC10.load(folder: copy).valid
        XCTAssertEqual(uneven.count, 11)
        XCTAssertEqual(uneven.labels.filter { $0 == 8 }.count, 2, "ship is class 8")
        try FileManager.default.removeItem(at: ship.appendingPathComponent("zz-copy.png"))
        // Hidden files are ignored; other files and folders are errors naming them.
        try Data([1]).write(to: ship.appendingPathComponent(".DS_Store"))
        XCTAssertEqual(try CINIC10.load(folder: copy).valid.count, 10)
        let text = ship.appendingPathComponent("notes.txt")
        try Data([1]).write(to: text)
        assertFormatError(try CINIC10.load(folder: copy), about: text.path, mentions: ["not a .png file"])
        try FileManager.default.removeItem(at: text)
        let inner = ship.appendingPathComponent("more.png")
        try FileManager.default.createDirectory(at: inner, withIntermediateDirectories: false)
        assertFormatError(try CINIC10.load(folder: copy), about: inner.path, mentions: ["a folder inside a class folder"])
        try FileManager.default.removeItem(at: inner)
        try FileManager.default.removeItem(at: ship.appendingPathComponent(shipImage))
        assertFormatError(try CINIC10.load(folder: copy), about: ship.path, mentions: ["holds no images"]) { $0 == .noImages }
        try FileManager.default.removeItem(at: ship)
        assertFormatError(try CINIC10.load(folder: copy), about: ship.path, mentions: ["folder not found", "airplane/, automobile/"])
        let test = copy.appendingPathComponent("test")
        try FileManager.default.removeItem(at: test)
        assertFormatError(try CINIC10.readSplit(test), about: test.path, mentions: ["folder not found", "train/, valid/, test/"])
    }

    func testBadImagesNameTheFile() throws {
        let copy = try sampleCopy()
        let frog = copy.appendingPathComponent("test/frog")
        let name = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: frog.path).first { $0.hasSuffix(".png") })
        let file = frog.appendingPathComponent(name)
        let bytes = try Data(contentsOf: file)
        try bytes.prefix(100).write(to: file)
        assertFormatError(try CINIC10.load(folder: copy), about: file.path, mentions: ["truncated"])
        // A valid PNG of the wrong size.
        let pngFolder = try XCTUnwrap(Bundle.module.url(forResource: "png-sample", withExtension: nil, subdirectory: "Fixtures"))
        try Data(contentsOf: pngFolder.appendingPathComponent("rgb.png")).write(to: file)
        assertFormatError(try CINIC10.load(folder: copy), about: file.path, mentions: ["13 × 11, expected 32 × 32"]) {
            $0 == .wrongImageSize(width: 13, height: 11)
        }
        try Data(contentsOf: pngFolder.appendingPathComponent("bad/rgba.png")).write(to: file)
        assertFormatError(try CINIC10.load(folder: copy), about: file.path, mentions: ["RGBA"])
    }
}
