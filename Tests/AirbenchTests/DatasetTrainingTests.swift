import Airbench
import AirbenchData
import AirbenchKernels
import Foundation
import XCTest

/// Training and evaluating on the data sets of the paper's Table 5: class counts, SVHN's unmirrored
/// test-time augmentation, and the presets.
final class DatasetTrainingTests: XCTestCase {
    /// Without mirrored views, TTA level 2 is ½ the image and ¼ each one-pixel translation (reflection padded),
    /// checked against translations made here and evaluated one by one at level 0.
    func testUnmirroredTTAAveragesTheTranslatedImages() {
        var generator = SeededGenerator(seed: 4)
        let network = Network(widths: Widths(block1: 8, block2: 16, block3: 16))
        network.initialize(using: &generator)
        let count = 6, side = 32
        let images = CifarLoader.normalizedImages(.synthetic(count: count, seed: 8))
        func reflect(_ k: Int) -> Int { k < 0 ? -k : (k >= side ? 2 * (side - 1) - k : k) }
        func translated(by shift: Int) -> [Float] {
            var out = [Float](repeating: 0, count: images.count)
            for n in 0..<count {
                for y in 0..<side {
                    for x in 0..<side {
                        for c in 0..<3 {
                            out[((n * side + y) * side + x) * 3 + c] =
                                images[((n * side + reflect(y + shift)) * side + reflect(x + shift)) * 3 + c]
                        }
                    }
                }
            }
            return out
        }
        func plain(_ x: [Float]) -> [Float] {
            x.withUnsafeBufferPointer { network.infer(images: $0.baseAddress!, count: count, ttaLevel: 0) }
        }
        let (center, upLeft, downRight) = (plain(images), plain(translated(by: -1)), plain(translated(by: 1)))
        let level2 = images.withUnsafeBufferPointer { network.infer(images: $0.baseAddress!, count: count, ttaLevel: 2, mirror: false) }
        let level1 = images.withUnsafeBufferPointer { network.infer(images: $0.baseAddress!, count: count, ttaLevel: 1, mirror: false) }
        for i in center.indices {
            XCTAssertEqual(level2[i], 0.5 * center[i] + 0.25 * upLeft[i] + 0.25 * downRight[i], accuracy: 1e-5)
        }
        XCTAssertEqual(level1, center, "level 1 without the mirror is the image alone")
        let mirrored = images.withUnsafeBufferPointer { network.infer(images: $0.baseAddress!, count: count, ttaLevel: 2) }
        XCTAssertNotEqual(mirrored, level2)
        // Levels computed together equal levels computed alone, bit for bit, without the mirror too.
        let together = images.withUnsafeBufferPointer {
            network.inferLevels([0, 1, 2], images: $0.baseAddress!, count: count, mirror: false)
        }
        XCTAssertEqual(together, [center, level1, level2])
    }

    /// A 100-class data set trains a network with a 100-way head, on labels up to 99.
    func testTrainingOnAHundredClasses() throws {
        var h = Hyperparameters()
        h.widths = Widths(block1: 8, block2: 16, block3: 16)
        h.batchSize = 64
        h.trainEpochs = 1
        h.whiteningImages = 128
        func relabelled(_ split: ImageSplit) -> ImageSplit {
            ImageSplit(images: split.images, labels: (0..<split.count).map { UInt8($0 % 100) })
        }
        let data = Dataset(selection: DatasetSelection(.cifar100), train: relabelled(.synthetic(count: 128, seed: 1)),
                           test: relabelled(.synthetic(count: 40, seed: 2)))
        XCTAssertEqual(data.classCount, 100)
        let (network, result) = try train(data: data, hyperparameters: h, seed: 0, evaluateEachEpoch: false)
        XCTAssertEqual(network.classes, 100)
        XCTAssertEqual(result.finalLogits.map(\.count), [40 * 100, 40 * 100, 40 * 100])
        XCTAssertEqual(network.state.layout.entries.last?.shape, [100, 16], "head: 100 outputs")
    }

    /// Table 5 runs airbench96 unchanged on each data set: only Cutout (the table's column) and, for SVHN,
    /// flipping differ.
    func testTable5PresetsAreAirbench96WithoutRetuning() throws {
        XCTAssertEqual(Method.table5.count, 8)
        func fields(_ h: Hyperparameters) throws -> [String: Any] {
            try XCTUnwrap(try JSONSerialization.jsonObject(with: JSONEncoder().encode(h)) as? [String: Any])
        }
        let base = try fields(Method.airbench96.hyperparameters)
        for preset in Method.table5 {
            let dataset = try XCTUnwrap(preset.dataset)
            XCTAssertEqual(Method.named(preset.name)?.name, preset.name)
            var own = try fields(preset.hyperparameters)
            let cutout = preset.name.hasSuffix("-cutout")
            XCTAssertEqual(own["cutout"] as? Int, cutout ? 12 : 0, preset.name)
            XCTAssertEqual(own["flip"] as? String, dataset.name == .svhn ? "none" : "alternating", preset.name)
            XCTAssertEqual(own["method"] as? String, "table5-" + dataset.name.rawValue + (cutout ? "-cutout" : ""))
            for key in ["cutout", "flip", "method"] { own[key] = base[key] }
            for key in Set(base.keys).union(own.keys) {
                func canonical(_ value: Any?) -> String? {
                    value.flatMap { try? JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys, .fragmentsAllowed]) }
                        .map { String(decoding: $0, as: UTF8.self) }
                }
                XCTAssertEqual(canonical(own[key]), canonical(base[key]), "\(preset.name): \(key)")
            }
        }
        XCTAssertEqual(Method.airbench94.hyperparameters.adapted(to: DatasetSelection(.svhn)).flip, .none)
        XCTAssertEqual(Method.airbench94.hyperparameters.adapted(to: DatasetSelection(.cinic10)).flip, .alternating)
    }

    /// A saved model records its data set and normalisation; a file without them says nothing.
    func testModelFilesRecordTheirDataSet() throws {
        let network = Network(widths: Widths(block1: 8, block2: 16, block3: 16))
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("airbench-dataset-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = Dataset(selection: DatasetSelection(.svhn), train: .synthetic(count: 4, seed: 1), test: .synthetic(count: 2, seed: 2))
        let with = folder.appendingPathComponent("with.safetensors"), without = folder.appendingPathComponent("without.safetensors")
        try network.save(to: with, metadata: data.metadata)
        try network.save(to: without)
        XCTAssertEqual(try Dataset.recorded(inModel: SafetensorsFile.read(from: with), name: "with"), DatasetSelection(.svhn))
        XCTAssertNil(try Dataset.recorded(inModel: SafetensorsFile.read(from: without), name: "without"))
        let normalization = try SafetensorsFile.read(from: with).metadata["normalization"]
        XCTAssertEqual(try JSONDecoder().decode(Normalization.self, from: Data(try XCTUnwrap(normalization).utf8)), data.normalization)
    }
}
