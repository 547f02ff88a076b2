import Airbench
import AirbenchData
import AirbenchKernels
import Foundation
import XCTest

/// The presets against the spec's published figures, the model files of every method, and the data paths the
/// family adds (batches across epochs, orders).
final class FamilyTests: XCTestCase {
    /// FLOPs per run within 5% of the published totals (issue 7), parameters within 1% of the spec's counts.
    func testPresetFLOPsAndParametersMatchThePublishedFigures() {
        let published: [(Method, flops: [Double], parameters: Double)] = [
            (.airbench94, [0.36e15], 1.97e6), (.airbench95, [1.4e15, 1.39e15], 4.61e6),
            (.airbench96, [7.2e15, 7.46e15], 12.72e6), (.airbench96June2024, [4.91e15], 9.92e6),
            (.airbench94Muon, [0.29e15], 1.97e6), (.airbench96Faster, [3.1e15], 9.92e6),
            (.airbench94Hiverge, [0.270e15], 1.97e6),
        ]
        for (method, flops, parameters) in published {
            let cost = RunPlan(method.hyperparameters, trainImages: 50_000).cost()
            for reference in flops {
                XCTAssertEqual(cost.totalFLOPs, reference, accuracy: 0.05 * reference, "\(method.name) FLOPs")
            }
            XCTAssertEqual(Double(method.hyperparameters.networkSpec().parameterCount), parameters,
                           accuracy: 0.01 * parameters, "\(method.name) parameters")
        }
        // The spec's exact count for airbench94 (`model.parameters()`, frozen ones included).
        let spec = Method.airbench94.hyperparameters.networkSpec()
        XCTAssertEqual(spec.parameterCount, 1_972_792)
        XCTAssertEqual(Network().parameterCount, spec.parameterCount)
        // Steps: airbench94 476, muon 25·8 = 200, faster 48·45 = 2160 (spec appendix).
        XCTAssertEqual(RunPlan(Method.airbench94.hyperparameters, trainImages: 50_000).totalSteps, 476)
        XCTAssertEqual(RunPlan(Method.airbench94Muon.hyperparameters, trainImages: 50_000).totalSteps, 200)
        XCTAssertEqual(RunPlan(Method.airbench96Faster.hyperparameters, trainImages: 50_000).totalSteps, 2160)
    }

    /// A model of every method saved as `airbench train --save-model` does loads back as the same network; a
    /// state_dict without the spec (e.g. from PyTorch) is recognised by its keys.
    func testSavedModelsOfEveryMethodLoadBackExactly() throws {
        for method in Method.all {
            var h = method.hyperparameters
            h.widths = Widths(block1: 8, block2: 12, block3: 16)
            let network = try Network(spec: h.networkSpec(), batchNormMomentum: h.batchNormMomentum)
            var generator = SeededGenerator(seed: 3)
            network.initialize(using: &generator, dirac: h.diracInit, whitenBias: h.whitenBiasInit, head: h.headInit)
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("family-\(UUID().uuidString).safetensors")
            defer { try? FileManager.default.removeItem(at: url) }
            try network.save(to: url, metadata: network.specMetadata.merging(["method": h.method]) { $1 })
            let loaded = try Network.load(from: url)
            XCTAssertEqual(loaded.spec, network.spec, method.name)
            XCTAssertEqual(loaded.state.storage.array, network.state.storage.array, method.name)
            // Without the spec: the keys tell the naming, group sizes and classes; the scale is the naming's.
            try network.save(to: url)
            let inferred = try Network.load(from: url)
            XCTAssertEqual(inferred.spec.naming, network.spec.naming, method.name)
            XCTAssertEqual(inferred.spec.groups.map(\.width), [8, 12, 16], method.name)
            XCTAssertEqual(inferred.spec.groups.map(\.convs), network.spec.groups.map(\.convs), method.name)
            XCTAssertEqual(inferred.spec.head.scalingFactor, network.spec.head.scalingFactor, method.name)
        }
    }

    /// The unit-std head and uniform whitening bias of airbench94_muon, and the dirac switch.
    func testInitialisationVariants() throws {
        var h = Method.airbench94Muon.hyperparameters
        h.widths = Widths(block1: 8, block2: 12, block3: 16)
        let network = try Network(spec: h.networkSpec())
        var generator = SeededGenerator(seed: 1)
        network.initialize(using: &generator, dirac: false, whitenBias: .uniform, head: .unitStd)
        let head = network.state.values("head.weight").map(Double.init)
        let mean = head.reduce(0, +) / Double(head.count)
        let std = (head.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(head.count - 1)).squareRoot()
        XCTAssertEqual(std, 1, accuracy: 1e-5)
        let bias = network.state.values("whiten.bias")
        XCTAssertTrue(bias.allSatisfy { abs($0) <= 1 / Float(12).squareRoot() } && bias.contains { $0 != 0 })
        // Without dirac no filter is an identity map: conv2's first filter is not a one-hot.
        let conv2 = network.state.values("layers.1.conv2.weight")
        XCTAssertGreaterThan(conv2[0..<8 * 9].filter { $0 != 0 }.count, 1)
    }

    /// Labels 0, 1, 2, … identify the images a loader serves.
    func indexedSplit(_ count: Int) -> ImageSplit {
        var split = ImageSplit.synthetic(count: count, seed: 1)
        split.labels = (0..<count).map { UInt8($0) }
        return split
    }

    func testBatchesSpanEpochsInTheStreamMode() {
        var h = Hyperparameters()
        h.batchSize = 4
        h.order = .sequential
        h.batchesSpanEpochs = true
        let source = BatchSource(split: indexedSplit(10), normalization: .cifar10, hyperparameters: h, seed: 0)
        XCTAssertEqual(source.stepsPerEpoch, 2)
        var images = [Float](repeating: 0, count: 4 * 3072), labels = [Int32](repeating: 0, count: 4)
        var served = [[Int32]]()
        for step in 0..<5 {
            source.fill(step: step, images: &images, labels: &labels)
            served.append(labels)
        }
        XCTAssertEqual(served, [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 0, 1], [2, 3, 4, 5], [6, 7, 8, 9]])
        h.batchesSpanEpochs = false  // whole epochs, the last partial batch dropped
        let epochs = BatchSource(split: indexedSplit(10), normalization: .cifar10, hyperparameters: h, seed: 0)
        served = []
        for step in 0..<3 {
            epochs.fill(step: step, images: &images, labels: &labels)
            served.append(labels)
        }
        XCTAssertEqual(served, [[0, 1, 2, 3], [4, 5, 6, 7], [0, 1, 2, 3]])
    }

    func testDataOrders() {
        func epochs(_ order: CifarLoader.Order) -> [[UInt8]] {
            let loader = CifarLoader(split: indexedSplit(200), batchSize: 200, order: order, dropLast: true, seed: 9)
            var images = [Float](repeating: 0, count: 200 * 3072), labels = [Int32](repeating: 0, count: 200)
            return (0..<3).map { _ in
                loader.startEpoch()
                loader.fillBatch(0, images: &images, labels: &labels)
                return labels.map { UInt8($0) }
            }
        }
        let all = (0..<200).map { UInt8($0) }
        let reshuffled = epochs(.reshuffle), fixed = epochs(.fixed), replaced = epochs(.withReplacement)
        XCTAssertEqual(epochs(.sequential), [all, all, all])
        XCTAssertTrue(reshuffled.allSatisfy { $0.sorted() == all })
        XCTAssertNotEqual(reshuffled[0], reshuffled[1])
        XCTAssertEqual(fixed[0], fixed[1])
        XCTAssertEqual(fixed[1], fixed[2])
        XCTAssertEqual(fixed[0].sorted(), all)
        XCTAssertNotEqual(fixed[0], all)
        // With replacement some images repeat (the chance that 200 draws are distinct is about 1e-86).
        XCTAssertTrue(replaced.allSatisfy { Set($0).count < 200 && $0.allSatisfy { $0 < 200 } })
    }

    /// Every preset trains end to end at a tiny size, reproducibly; airbench94_muon and airbench96_faster take
    /// their own paths (Muon, the proxy over a stream).
    func testEveryPresetTrainsEndToEndReproducibly() throws {
        let data = Dataset(cifar10: CIFAR10(train: .synthetic(count: 512, seed: 1), test: .synthetic(count: 40, seed: 2)))
        for method in Method.all {
            var h = method.hyperparameters
            h.widths = Widths(block1: 8, block2: 12, block3: 16)
            h.batchSize = 128
            h.trainEpochs = 2
            h.whiteningImages = 256
            h.ttaLevel = 1
            if h.proxy != nil {
                h.proxy!.widths = Widths(block1: 4, block2: 8, block3: 8)
                h.proxy!.keep = 64
            }
            let first = try train(data: data, hyperparameters: h, seed: 4, evaluateEachEpoch: false)
            let second = try train(data: data, hyperparameters: h, seed: 4, evaluateEachEpoch: false)
            XCTAssertEqual(first.network.state.storage.array, second.network.state.storage.array, method.name)
            XCTAssertEqual(first.network.spec.name, method.name)
            XCTAssertEqual(first.result.epochs.count, 3, method.name)
            XCTAssertTrue(first.network.state.storage.array.allSatisfy(\.isFinite), method.name)
        }
    }
}
