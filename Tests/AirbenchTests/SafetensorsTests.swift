import Airbench
import AirbenchFormats
import Foundation
import XCTest

final class SafetensorsTests: XCTestCase {
    private var temporaryFolder: URL!

    override func setUpWithError() throws {
        temporaryFolder = FileManager.default.temporaryDirectory
            .appendingPathComponent("SafetensorsTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temporaryFolder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: temporaryFolder)
    }

    // MARK: - Helpers

    /// A file assembled by hand per the format: length, header text, then the data bytes.
    private func fileBytes(header: String, data: [UInt8] = []) -> [UInt8] {
        let headerBytes = Array(header.utf8)
        return littleEndian(UInt64(headerBytes.count)) + headerBytes + data
    }

    private func littleEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }

    private func floatBytes(_ values: [Float]) -> [UInt8] {
        values.flatMap { littleEndian($0.bitPattern) }
    }

    /// Asserts that parsing `bytes` fails with exactly `kind`.
    private func assertParseFails(
        _ bytes: [UInt8], with kind: FormatError.Kind, file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertThrowsError(try SafetensorsFile.parse(bytes, source: "test.safetensors"), file: file, line: line) {
            error in
            guard let error = error as? FormatError else {
                return XCTFail("unexpected error type \(error)", file: file, line: line)
            }
            XCTAssertEqual(error.kind, kind, file: file, line: line)
            XCTAssertEqual(error.file, "test.safetensors", file: file, line: line)
            XCTAssertTrue(error.description.hasPrefix("test.safetensors: "), file: file, line: line)
        }
    }

    private func fixtureURL(_ name: String) throws -> URL {
        try XCTUnwrap(
            Bundle.module.url(forResource: name, withExtension: "safetensors", subdirectory: "Fixtures"),
            "fixture \(name).safetensors is not in the test bundle")
    }

    // MARK: - Round trip and layout

    func testRoundTripThroughDisk() throws {
        var original = SafetensorsFile(metadata: ["note": "quote \" backslash \\ newline \n tab \t bell \u{07} é ✓"])
        original.setFloats([1.5, -0.0, .infinity, -.greatestFiniteMagnitude, .leastNonzeroMagnitude, 3],
                           shape: [2, 3], for: "conv.weight")
        original.setFloats([42], shape: [], for: "scalar")
        original.setFloats([], shape: [0, 4], for: "empty")
        original.setIntegers([0, 9, -1, Int(Int64.max), Int(Int64.min)], shape: [5], for: "labels")
        original.setFloats([.nan], shape: [1], for: "ünïcode \"name\"")
        let url = temporaryFolder.appendingPathComponent("round trip.safetensors")
        try original.write(to: url)

        let read = try SafetensorsFile.read(from: url)
        XCTAssertEqual(read.metadata, original.metadata)
        XCTAssertEqual(Set(read.names), Set(original.names))
        XCTAssertEqual(try read.floats("conv.weight").map(\.bitPattern),
                       [1.5, -0.0, .infinity, -.greatestFiniteMagnitude, .leastNonzeroMagnitude, 3].map(\.bitPattern))
        XCTAssertEqual(try read.shape("conv.weight"), [2, 3])
        XCTAssertEqual(try read.shape("scalar"), [])
        XCTAssertEqual(try read.floats("scalar"), [42])
        XCTAssertEqual(try read.shape("empty"), [0, 4])
        XCTAssertEqual(try read.integers("labels"), [0, 9, -1, Int(Int64.max), Int(Int64.min)])
        XCTAssertTrue(try read.floats("ünïcode \"name\"")[0].isNaN)
        XCTAssertEqual(read.sourceDescription, url.path)

        // NaN ≠ NaN, so compare everything else with ==.
        var withoutNaN = read
        withoutNaN.tensors["ünïcode \"name\""] = nil
        var expected = original
        expected.tensors["ünïcode \"name\""] = nil
        XCTAssertEqual(withoutNaN, expected)

        // Writing the same contents twice gives the same bytes.
        XCTAssertEqual(read.serialized(), original.serialized())
    }

    func testWriteReplacesAtomicallyAndLeavesNoTemporaryFiles() throws {
        let url = temporaryFolder.appendingPathComponent("model.safetensors")
        var first = SafetensorsFile()
        first.setFloats([1, 2, 3], shape: [3], for: "w")
        try first.write(to: url)
        var second = SafetensorsFile()
        second.setFloats([4], shape: [1], for: "v")
        try second.write(to: url)
        XCTAssertEqual(try SafetensorsFile.read(from: url), second)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: temporaryFolder.path), ["model.safetensors"])
    }

    func testByteExactLayoutOfTinyFile() {
        var file = SafetensorsFile(metadata: ["format": "pt"])
        file.setFloats([1, -2], shape: [2], for: "b")
        file.setIntegers([7], shape: [1, 1], for: "a")

        // Built by hand per the format: __metadata__ first, then tensors by name, packed in that order.
        let header = #"{"__metadata__":{"format":"pt"},"a":{"dtype":"I64","shape":[1,1],"data_offsets":[0,8]},"#
            + #""b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#
        let padding = String(repeating: " ", count: (8 - header.utf8.count % 8) % 8)
        var expected: [UInt8] = littleEndian(UInt64(header.utf8.count + padding.count))
        expected += Array((header + padding).utf8)
        expected += [7, 0, 0, 0, 0, 0, 0, 0]  // Int64 7
        expected += [0x00, 0x00, 0x80, 0x3F]  // Float 1
        expected += [0x00, 0x00, 0x00, 0xC0]  // Float −2

        let bytes = file.serialized()
        XCTAssertEqual(bytes, expected)
        XCTAssertEqual((bytes.count - 16) % 8, 0, "the data section starts 8-byte aligned")
    }

    func testEmptyFileHasEmptyHeaderObject() throws {
        let bytes = SafetensorsFile().serialized()
        XCTAssertEqual(bytes, littleEndian(UInt64(8)) + Array("{}      ".utf8))
        XCTAssertEqual(try SafetensorsFile.parse(bytes), SafetensorsFile())
    }

    // MARK: - Reading other dtypes and layouts

    func testReadsOtherDTypesUnpaddedAndUnaligned() throws {
        var data = [UInt8]()
        data += littleEndian(Double(0.1).bitPattern) + littleEndian(Double(-3).bitPattern)  // F64
        data += [0x00, 0x3C, 0x00, 0xC0, 0x01, 0x00, 0x00, 0x7C, 0xFF, 0x7B]  // F16 1, −2, 2⁻²⁴, inf, 65504
        data += [0x80, 0x3F, 0x49, 0x40]  // BF16 1, 3.140625
        data += littleEndian(Int32(-5)) + littleEndian(Int32(123_456))  // I32
        data += littleEndian(Int64(-1))  // I64
        // Spacing, member order and the missing padding differ from our writer on purpose.
        let header = """
            { "f64" : {"shape":[2],"dtype":"F64","data_offsets":[0,16]},
              "f16": {"dtype":"F16","shape":[5],"data_offsets":[16,26]},
              "bf16": {"dtype":"BF16","shape":[2],"data_offsets":[26,30]},
              "i32": {"dtype":"I32","shape":[2],"data_offsets":[30,38]},
              "i64": {"dtype":"I64","shape":[],"data_offsets":[38,46]},
              "__metadata__": {"a\\u00e9\\ud83d\\ude00": "x\\/y"} }
            """
        let file = try SafetensorsFile.parse(fileBytes(header: header, data: data))
        XCTAssertEqual(try file.floats("f64"), [Float(0.1), -3])
        XCTAssertEqual(try file.floats("f16"), [1, -2, 0x1p-24, .infinity, 65504])
        XCTAssertEqual(try file.floats("bf16"), [1, 3.140625])
        XCTAssertEqual(try file.integers("i32"), [-5, 123_456])
        XCTAssertEqual(try file.floats("i32"), [-5, 123_456])
        XCTAssertEqual(try file.integers("i64"), [-1])
        XCTAssertEqual(try file.shape("i64"), [])
        XCTAssertEqual(file.metadata, ["aé😀": "x/y"])
    }

    func testIntegersFromFloatTensorRequireWholeNumbers() throws {
        var file = SafetensorsFile()
        file.setFloats([3, -1, 0], shape: [3], for: "whole")
        file.setFloats([3, 0.5], shape: [2], for: "fractional")
        file.setFloats([.nan], shape: [1], for: "nan")
        XCTAssertEqual(try file.integers("whole"), [3, -1, 0])
        for name in ["fractional", "nan"] {
            XCTAssertThrowsError(try file.integers(name)) { error in
                XCTAssertEqual((error as? FormatError)?.kind, .notIntegral(tensor: name))
            }
        }
    }

    // MARK: - Errors

    func testTooShort() {
        assertParseFails([], with: .tooShort(byteCount: 0))
        assertParseFails([1, 0, 0, 0, 0], with: .tooShort(byteCount: 5))
    }

    func testHeaderLengthBeyondFile() {
        assertParseFails(littleEndian(UInt64(3)) + Array("{}".utf8), with: .headerBeyondFile(headerLength: 3, fileLength: 10))
        assertParseFails(littleEndian(UInt64.max) + Array("{}".utf8),
                         with: .headerBeyondFile(headerLength: .max, fileLength: 10))
    }

    func testBadJSON() throws {
        let cases: [[UInt8]] = [
            fileBytes(header: "{\"a\": "),
            fileBytes(header: "not json"),
            fileBytes(header: "[1, 2]"),
            fileBytes(header: "{} trailing"),
            fileBytes(header: "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}"),
            fileBytes(header: "{\"a\":{\"shape\":[0],\"data_offsets\":[0,0]}}"),
            fileBytes(header: "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,0]}}"),
            fileBytes(header: "{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,0]}}"),
            fileBytes(header: "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0]}}"),
            fileBytes(header: "{\"__metadata__\":{\"k\":1}}"),
            fileBytes(header: "{\"a\":\"\u{01}\"}"),
            littleEndian(UInt64(3)) + [0x7B, 0xFF, 0x7D],  // invalid UTF-8
        ]
        for bytes in cases {
            XCTAssertThrowsError(try SafetensorsFile.parse(bytes, source: "bad.safetensors")) { error in
                guard case .badHeader? = (error as? FormatError)?.kind else {
                    return XCTFail("expected badHeader, got \(error)")
                }
                XCTAssertTrue("\(error)".hasPrefix("bad.safetensors: bad JSON header: "), "\(error)")
            }
        }
    }

    /// Each malformed header names the problem (and the tensor), not just "bad JSON".
    func testBadHeaderReasons() {
        let cases: [(header: String, reason: String)] = [
            ("{\"a\": ", "not valid JSON"),
            ("{} trailing", "not valid JSON"),
            ("[1, 2]", "top level is not an object"),
            (#"{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}"#,
             "duplicate key 'a'"),
            (#"{"a":{"dtype":"F32","dtype":"F64","shape":[0],"data_offsets":[0,0]}}"#, "duplicate key 'a.dtype'"),
            (#"{"__metadata__":{"k":"x","k":"y"}}"#, "duplicate key '__metadata__.k'"),
            (#"{"a":3}"#, "tensor 'a': entry is not an object"),
            (#"{"a":{"shape":[0],"data_offsets":[0,0]}}"#, "tensor 'a': missing string 'dtype'"),
            (#"{"a":{"dtype":7,"shape":[0],"data_offsets":[0,0]}}"#, "tensor 'a': missing string 'dtype'"),
            (#"{"a":{"dtype":"F32","data_offsets":[0,0]}}"#, "tensor 'a': missing array 'shape'"),
            (#"{"a":{"dtype":"F32","shape":[true],"data_offsets":[0,0]}}"#, "tensor 'a': missing array 'shape'"),
            (#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}"#, "tensor 'a': shape entries must be non-negative"),
            (#"{"a":{"dtype":"F32","shape":[0]}}"#, "tensor 'a': missing two-element integer array 'data_offsets'"),
            (#"{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0,0]}}"#, "tensor 'a': missing two-element"),
            (#"{"a":{"dtype":"F32","shape":[0],"data_offsets":[0.5,1]}}"#, "tensor 'a': missing two-element"),
            (#"{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,99999999999999999999]}}"#, "tensor 'a': missing two-element"),
            (#"{"__metadata__":[]}"#, "__metadata__ is not an object"),
            (#"{"__metadata__":{"k":null}}"#, "__metadata__ value for 'k' is not a string"),
            ("{\"a\":\"\u{01}\"}", "not valid JSON"),
            // The header as UTF-16 (Foundation's JSON reader would accept it).
            (String(decoding: [0x7B, 0x00, 0x7D, 0x00], as: UTF8.self), "not UTF-8 JSON"),
        ]
        for (header, reason) in cases {
            XCTAssertThrowsError(try SafetensorsFile.parse(fileBytes(header: header), source: "bad.safetensors"), header) { error in
                guard case .badHeader(let actual)? = (error as? FormatError)?.kind else {
                    return XCTFail("\(header): expected badHeader, got \(error)")
                }
                XCTAssertTrue(actual.hasPrefix(reason), "\(header): reason \"\(actual)\" does not start with \"\(reason)\"")
            }
        }
    }

    /// As in the reference implementation, the tensors must cover the data section exactly.
    func testDataNotCoveredByTensors() {
        let data = floatBytes([1, 2, 3])
        assertParseFails(
            fileBytes(header: #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"#
                + #""x":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#, data: data),
            with: .unclaimedData(begin: 4, end: 8, dataLength: 12))
        assertParseFails(
            fileBytes(header: #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, data: data),
            with: .unclaimedData(begin: 0, end: 4, dataLength: 12))
        assertParseFails(
            fileBytes(header: #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: data),
            with: .unclaimedData(begin: 8, end: 12, dataLength: 12))
        assertParseFails(fileBytes(header: "{}", data: [0]), with: .unclaimedData(begin: 0, end: 1, dataLength: 1))
        // Empty tensors may sit anywhere inside the data section.
        XCTAssertNoThrow(try SafetensorsFile.parse(fileBytes(
            header: #"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},"e":{"dtype":"F32","shape":[0,5],"data_offsets":[4,4]}}"#,
            data: data)))
    }

    func testOffsetsOutOfRange() {
        let data = floatBytes([1, 2])
        assertParseFails(
            fileBytes(header: #"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}"#, data: data),
            with: .offsetsOutOfRange(tensor: "w", begin: 0, end: 12, dataLength: 8))
        assertParseFails(
            fileBytes(header: #"{"w":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}}"#, data: data),
            with: .offsetsOutOfRange(tensor: "w", begin: 8, end: 4, dataLength: 8))
        assertParseFails(
            fileBytes(header: #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}"#, data: data),
            with: .offsetsOutOfRange(tensor: "w", begin: -4, end: 0, dataLength: 8))
    }

    func testOverlappingTensors() {
        let header = #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},"#
            + #""w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        assertParseFails(fileBytes(header: header, data: floatBytes([1, 2, 3])),
                         with: .overlappingTensors(first: "w", second: "x"))
    }

    func testUnknownDType() {
        assertParseFails(
            fileBytes(header: #"{"w":{"dtype":"Q4","shape":[1],"data_offsets":[0,4]}}"#, data: floatBytes([1])),
            with: .unknownDType(tensor: "w", dtype: "Q4"))
    }

    func testShapeTimesDTypeSizeMismatch() {
        assertParseFails(
            fileBytes(header: #"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}"#, data: floatBytes([1, 2, 3])),
            with: .sizeMismatch(tensor: "w", shape: [2, 2], dtype: "F32", byteLength: 12))
        assertParseFails(
            fileBytes(header: #"{"w":{"dtype":"F64","shape":[1],"data_offsets":[0,4]}}"#, data: floatBytes([1])),
            with: .sizeMismatch(tensor: "w", shape: [1], dtype: "F64", byteLength: 4))
        // A shape whose element count overflows Int must not crash.
        assertParseFails(
            fileBytes(header: #"{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}"#,
                      data: floatBytes([1])),
            with: .sizeMismatch(tensor: "w", shape: [4_294_967_296, 4_294_967_296], dtype: "F32", byteLength: 4))
    }

    func testMissingTensorNamesFileAndTensor() throws {
        let url = temporaryFolder.appendingPathComponent("small.safetensors")
        var file = SafetensorsFile()
        file.setFloats([1], shape: [1], for: "present")
        try file.write(to: url)
        let read = try SafetensorsFile.read(from: url)
        XCTAssertThrowsError(try read.floats("absent")) { error in
            XCTAssertEqual((error as? FormatError)?.kind, .missingTensor(name: "absent"))
            XCTAssertEqual("\(error)", "\(url.path): no tensor named 'absent'")
        }
        XCTAssertThrowsError(try read.integers("absent"))
        XCTAssertThrowsError(try read.shape("absent"))
        XCTAssertTrue(read.contains("present"))
        XCTAssertFalse(read.contains("absent"))
    }

    func testReadErrorsNameTheFile() throws {
        let url = temporaryFolder.appendingPathComponent("truncated.safetensors")
        try Data([1, 2, 3]).write(to: url)
        XCTAssertThrowsError(try SafetensorsFile.read(from: url)) { error in
            XCTAssertEqual((error as? FormatError)?.kind, .tooShort(byteCount: 3))
            XCTAssertEqual("\(error)", "\(url.path): file is 3 bytes, too short to hold the 8-byte header length")
        }
        let missing = temporaryFolder.appendingPathComponent("missing.safetensors")
        XCTAssertThrowsError(try SafetensorsFile.read(from: missing)) { error in
            guard case .fileSystem? = (error as? FormatError)?.kind else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".hasPrefix(missing.path), "\(error)")
        }
    }

    func testWriteIntoMissingFolderFailsCleanly() {
        let url = temporaryFolder.appendingPathComponent("no such folder/out.safetensors")
        XCTAssertThrowsError(try SafetensorsFile().write(to: url)) { error in
            guard case .fileSystem? = (error as? FormatError)?.kind else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("out.safetensors"), "\(error)")
        }
    }

    // MARK: - Committed PyTorch fixtures

    func testNetworkFixtureOpensWithExpectedShapes() throws {
        let url = try fixtureURL("airbench94_small")
        let file = try SafetensorsFile.read(from: url)
        XCTAssertEqual(try file.floats("config.widths"), [16, 32, 32])
        XCTAssertEqual(try file.floats("hyp.lr"), [11.5])
        XCTAssertEqual(try file.floats("hyp.batch_size"), [8])
        XCTAssertEqual(try file.shape("hyp.schedule"), [5])
        XCTAssertEqual(try file.shape("step1.input"), [8, 3, 32, 32])
        XCTAssertEqual(try file.shape("step5.labels"), [8])
        XCTAssertTrue(try file.integers("step3.labels").allSatisfy { (0..<10).contains($0) })
        XCTAssertEqual(try file.shape("whiten.eigenvalues"), [12])
        XCTAssertEqual(try file.shape("whiten.weight"), [24, 3, 2, 2])
        XCTAssertEqual(try file.shape("init.0.weight"), [24, 3, 2, 2])
        XCTAssertEqual(try file.shape("init.2.conv1.weight"), [16, 24, 3, 3])
        XCTAssertEqual(try file.shape("init.4.norm2.running_var"), [32])
        XCTAssertEqual(try file.shape("init.7.weight"), [10, 32])
        XCTAssertEqual(try file.shape("step1.logits"), [8, 10])
        XCTAssertEqual(try file.shape("step1.loss"), [1])
        XCTAssertEqual(try file.shape("step1.grad.3.conv2.weight"), [32, 32, 3, 3])
        XCTAssertEqual(try file.shape("step1.state.2.norm1.running_mean"), [16])
        XCTAssertEqual(try file.shape("final.state.7.weight"), [10, 32])
        for level in 0..<3 {
            XCTAssertEqual(try file.shape("eval.logits_tta\(level)"), [8, 10])
        }
        XCTAssertFalse(file.contains("init.2.norm1.num_batches_tracked"))
        XCTAssertNotNil(file.metadata["layout"])

        // The fixture writer follows the same layout rules, so our writer reproduces it byte for byte.
        let original = try [UInt8](Data(contentsOf: url))
        XCTAssertEqual(file.serialized(), original)

        // For checking interoperability from Python (scripts/make_fixtures.py --verify-rewrite FILE).
        if let path = ProcessInfo.processInfo.environment["AIRBENCH_SAFETENSORS_REWRITE_TO"] {
            try file.write(to: URL(fileURLWithPath: path))
        }
    }

    func testLayersFixtureOpensWithExpectedShapes() throws {
        let file = try SafetensorsFile.read(from: try fixtureURL("layers"))
        XCTAssertEqual(try file.shape("gelu.x"), [1000])
        XCTAssertEqual(try file.shape("gelu.dx"), [1000])
        XCTAssertEqual(try file.shape("xent.logits"), [16, 10])
        XCTAssertEqual(try file.shape("xent.labels"), [16])
        XCTAssertEqual(try file.shape("batchnorm.x"), [4, 8, 5, 5])
        XCTAssertEqual(try file.shape("batchnorm.running_var1"), [8])
        XCTAssertEqual(try file.shape("maxpool2.y"), [2, 3, 3, 3])
        XCTAssertEqual(try file.shape("maxpool3.y"), [2, 3, 1, 1])
        XCTAssertEqual(try file.shape("conv3x3.w"), [7, 5, 3, 3])
        XCTAssertEqual(try file.shape("conv3x3.y"), [2, 7, 6, 6])
        XCTAssertEqual(try file.shape("conv2x2.y"), [2, 4, 4, 4])
        XCTAssertEqual(try file.shape("conv2x2.db"), [4])
        XCTAssertEqual(try file.shape("linear.w"), [10, 6])
        XCTAssertEqual(try file.shape("linear.y"), [4, 10])
    }
}
