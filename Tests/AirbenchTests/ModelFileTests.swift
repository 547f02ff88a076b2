import Airbench
import AirbenchData
import Foundation
import XCTest

final class ModelFileTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("airbench-model-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func randomNetwork(widths: Widths = Widths(block1: 8, block2: 16, block3: 12), seed: UInt64 = 3) -> Network {
        let network = Network(widths: widths)
        var generator = SeededGenerator(seed: seed)
        network.initialize(using: &generator)
        // Running statistics and biases away from their initial values, so the round trip covers them.
        for i in 0..<network.state.layout.count where network.state.storage[i] == 0 {
            network.state.storage[i] = generator.uniformFloat()
        }
        return network
    }

    func testExportImportRoundTripIsBitwise() throws {
        let network = randomNetwork(), url = folder.appendingPathComponent("model.safetensors")
        try network.save(to: url)
        let loaded = try Network.load(from: url)
        XCTAssertEqual(loaded.spec, network.spec)
        XCTAssertEqual(loaded.state.storage.array, network.state.storage.array)
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: folder.path).contains { $0.hasSuffix(".tmp") })
    }

    /// The exported keys and shapes are those of Listing 4's PyTorch state_dict (from the fixture written by
    /// PyTorch, less num_batches_tracked) and the data is F32 OIHW.
    func testKeysAndShapesMatchPyTorchStateDict() throws {
        let fixture = try loadFixture("airbench94_small")
        let pytorchKeys = Set(fixture.names.filter { $0.hasPrefix("init.") }.map { String($0.dropFirst(5)) })
        let exported = Network(widths: Widths(block1: 16, block2: 32, block3: 32)).safetensors()
        XCTAssertEqual(Set(exported.names), pytorchKeys)
        for key in pytorchKeys { XCTAssertEqual(try exported.shape(key), try fixture.shape("init." + key), key) }
        let bytes = exported.serialized()
        let headerLength = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = String(decoding: bytes[8..<8 + headerLength], as: UTF8.self)
        XCTAssertTrue(header.contains("\"F32\""))
        XCTAssertFalse(header.contains("\"F64\"") || header.contains("\"I64\""))
    }

    func testLoadingAPyTorchStateDict() throws {
        // The fixture's init.* tensors are a PyTorch state_dict; rename them and load.
        let fixture = try loadFixture("airbench94_small")
        var file = SafetensorsFile()
        for name in fixture.names where name.hasPrefix("init.") {
            file.setFloats(try fixture.floats(name), shape: try fixture.shape(name), for: String(name.dropFirst(5)))
        }
        let url = folder.appendingPathComponent("pytorch.safetensors")
        try file.write(to: url)
        let network = try Network.load(from: url)
        XCTAssertEqual(network.spec, .airbench94(widths: Widths(block1: 16, block2: 32, block3: 32)))
        XCTAssertEqual(network.state.values("3.norm2.bias"), try fixture.floats("init.3.norm2.bias"))
    }

    func testBadModelFilesGiveClearErrors() throws {
        let network = randomNetwork()
        var file = network.safetensors()
        file.tensors["7.weight"] = nil
        let missing = folder.appendingPathComponent("missing.safetensors")
        try file.write(to: missing)
        XCTAssertThrowsError(try Network.load(from: missing)) {
            XCTAssertEqual($0 as? TrainingError, .invalidModelFile(file: missing.path, message: "tensor '7.weight' is missing"))
        }
        file = network.safetensors()
        file.setFloats([Float](repeating: 0, count: 10 * 13), shape: [10, 13], for: "7.weight")
        let wrong = folder.appendingPathComponent("wrong.safetensors")
        try file.write(to: wrong)
        XCTAssertThrowsError(try Network.load(from: wrong)) {
            XCTAssertEqual($0 as? TrainingError, .invalidModelFile(file: wrong.path, message: "tensor '7.weight' has shape [10, 13], expected [10, 12]"))
        }
        file = network.safetensors()
        var values = try file.floats("0.bias")
        values[0] = .nan
        file.setFloats(values, shape: [24], for: "0.bias")
        let nan = folder.appendingPathComponent("nan.safetensors")
        try file.write(to: nan)
        XCTAssertThrowsError(try Network.load(from: nan)) { XCTAssertTrue("\($0)".contains("NaN")) }
        let garbage = folder.appendingPathComponent("garbage.safetensors")
        try Data("not a model".utf8).write(to: garbage)
        XCTAssertThrowsError(try Network.load(from: garbage)) { XCTAssertTrue("\($0)".contains(garbage.path)) }
    }
}
