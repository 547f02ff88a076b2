import Airbench
import AirbenchData
import AirbenchKernels
import Foundation
import XCTest

/// airbench94_hiverge's preset against the spec's table, its FLOPs, the loader's jitter, the run's selective and
/// full TTA, and that files written before hiverge's options decode with the old behaviour.
final class HivergeTests: XCTestCase {
    /// Every value of `airbench-hiverge.md` §0–§5, written out here independently of `Methods.swift`.
    func testThePresetIsTheSpecsTable() {
        let h = Method.airbench94Hiverge.hyperparameters, plan = RunPlan(h, trainImages: 50_000)
        XCTAssertEqual(h.method, "airbench94_hiverge")
        XCTAssertEqual(h.batchSize, 1536)
        XCTAssertEqual(plan.stepsPerEpoch, 32)
        XCTAssertEqual(plan.totalSteps, 243)  // ⌈7.59 · 32⌉, not 7.59 · 50,000/1536
        XCTAssertEqual(plan.epochs, 8)
        XCTAssertEqual(plan.steps(ofEpoch: 7), 224..<243)  // the last loader epoch cut after 19 steps
        XCTAssertEqual(h.labelSmoothing, 0.09)
        XCTAssertEqual(h.groupActivation, .silu)
        XCTAssertEqual(h.networkSpec().groups.map(\.activation), [.silu, .silu, .silu])
        XCTAssertEqual(h.whiteningImages, 960)
        XCTAssertEqual(h.whiteningEpsilon, 5e-4)
        XCTAssertEqual(plan.whitenBiasSteps, 7)  // ⌈0.19 · 32⌉
        XCTAssertEqual((0...6).map { plan.whitenBiasFactor(step: $0)! }, (0...6).map { 1 - Double($0) / 7 })
        XCTAssertFalse(plan.whitenBiasTrains(step: 7))
        XCTAssertEqual(h.batchNormMomentum, 0.5566)
        XCTAssertEqual(h.batchNormEpsilon, 1e-12)
        // SGD in PyTorch's units: Nesterov 0.825, lr 0.0573 (whitening and BatchNorm biases) and 0.5415 (head),
        // per-step decay 1.0418e-6 · 1536, each group's weight_decay = that / its lr.
        XCTAssertEqual(h.momentum, 0.825)
        XCTAssertEqual(plan.rates.whitenBias, 0.0573, accuracy: 1e-12)
        XCTAssertEqual(plan.rates.normBiases, 0.0573, accuracy: 1e-12)
        XCTAssertEqual(plan.rates.weights, 0.5415, accuracy: 1e-12)
        XCTAssertEqual(plan.rates.decayPerStep, 0.0016002048, accuracy: 1e-12)
        XCTAssertEqual(plan.rates.decayPerStep / plan.rates.normBiases, 0.027927, accuracy: 1e-6)
        XCTAssertEqual(plan.rates.decayPerStep / plan.rates.weights, 0.0029551, accuracy: 1e-7)
        // Muon: lr 0.205, Nesterov 0.655, the new coefficients, 37 adaptive renormalisations, decoupled decay.
        XCTAssertEqual(h.filterOptimizer, .muon)
        XCTAssertEqual(h.muonLearningRate, 0.205)
        XCTAssertEqual(h.muonMomentum, 0.655)
        XCTAssertEqual(h.muonCoefficients, .hiverge)
        XCTAssertTrue(h.muonCoefficients.values == (3.4576, -4.7391, 2.0843))
        XCTAssertEqual(h.muonRenormalization, .adaptive)
        XCTAssertEqual(plan.muonRenormalizationSteps.count, 37)
        XCTAssertEqual(h.muonDecayPerStep, 0.0016002048, accuracy: 1e-12)  // spec: wd = 1.0418e-6 · 1536
        var reduced = h
        reduced.batchSize = 512  // the decay follows the batch (spec: 1.0418e-6 · batch)
        XCTAssertEqual(reduced.muonDecayPerStep, 1.0418e-6 * 512, accuracy: 1e-12)
        // The schedules: linear from 1, the last step at 1/243; no Lookahead.
        XCTAssertEqual(plan.scheduleFactor(step: 0), 1)
        XCTAssertEqual(plan.scheduleFactor(step: 242), 1.0 / 243, accuracy: 1e-15)
        XCTAssertFalse(h.lookahead)
        // Data: alternating flip, translate 2, the jitter ranges.
        XCTAssertEqual(h.flip, .alternating)
        XCTAssertEqual(h.translate, 2)
        XCTAssertEqual(h.cutout, 0)
        XCTAssertEqual(h.brightnessJitter, 0.1399)
        XCTAssertEqual(h.contrastJitter, 0.1308)
        // As airbench94_muon: the head ÷ 256 with unit-std init, the whitening bias default-uniform, CifarNet names.
        XCTAssertNil(h.scalingFactor)
        XCTAssertEqual(h.headInit, .unitStd)
        XCTAssertEqual(h.whitenBiasInit, .uniform)
        XCTAssertEqual(h.moduleNames, .cifarNet)
        XCTAssertEqual(h.widths, Widths(block1: 64, block2: 256, block3: 256))
        XCTAssertEqual(h.networkSpec().parameterCount, 1_972_792)
        // Selective TTA: level 2's 6 views for the 2,500 least confident of 10,000.
        XCTAssertEqual(h.ttaLevel, 2)
        XCTAssertEqual(h.ttaSelect, 0.25)
        XCTAssertEqual(plan.ttaSelected(testImages: 10_000), 2500)
        XCTAssertEqual(h.problems(), [])
    }

    /// Spec §8: 3 · 0.23629 GFLOPs · 373,248 training samples plus 10,000 + 6 · 2,500 test forwards = 0.2705
    /// PFLOPs, within 5% of the published 0.270.
    func testFLOPsCountTheSelectiveTTAForwards() {
        let cost = RunPlan(Method.airbench94Hiverge.hyperparameters, trainImages: 50_000).cost()
        XCTAssertEqual(cost.forwardFLOPsPerImage, 2 * 118_147_360)
        XCTAssertEqual(cost.trainingFLOPs, 3 * 2 * 118_147_360 * 373_248)
        XCTAssertEqual(cost.evaluationFLOPs, 2 * 118_147_360 * 25_000)
        XCTAssertEqual(cost.totalFLOPs, 0.270e15, accuracy: 0.05 * 0.270e15)
        XCTAssertEqual(cost.totalFLOPs, 2.705e14, accuracy: 0.001e14)
        // Any method with tta-select < 1 counts its forwards so.
        var paper = Hyperparameters()
        paper.ttaSelect = 0.1
        XCTAssertEqual(RunPlan(paper, trainImages: 50_000).ttaForwards(testImages: 10_000), 10_000 + 6 * 1_000)
        XCTAssertEqual(RunPlan(Hyperparameters(), trainImages: 50_000).ttaForwards(testImages: 10_000), 60_000)
    }

    /// Labels 0, 1, 2, … identify the images.
    func loader(brightness: Double, contrast: Double, seed: UInt64 = 5) -> CifarLoader {
        var split = ImageSplit.synthetic(count: 64, seed: 1)
        split.labels = (0..<64).map { UInt8($0) }
        return CifarLoader(split: split, batchSize: 64,
                           augmentation: Augmentation(flip: .none, translate: 0, brightness: brightness, contrast: contrast),
                           order: .sequential, dropLast: true, seed: seed)
    }

    /// The loader jitters every image of every epoch with its own pair, (x + b)·k on all its values (no clamping),
    /// b and k in their ranges and fresh each epoch; without jitter the images are the plain normalised ones.
    func testTheLoaderJittersEachImageWithItsOwnPair() {
        let plainLoader = loader(brightness: 0, contrast: 0), jittered = loader(brightness: 0.1399, contrast: 0.1308)
        var plain = [Float](repeating: 0, count: 64 * 3072), images = plain, labels = [Int32](repeating: 0, count: 64)
        plainLoader.startEpoch()
        plainLoader.fillBatch(0, images: &plain, labels: &labels)
        XCTAssertTrue((0..<64).allSatisfy { plainLoader.brightnessContrast(image: $0) == (0, 1) })
        var pairs = [[Float]]()
        for _ in 0..<2 {
            jittered.startEpoch()
            jittered.fillBatch(0, images: &images, labels: &labels)
            for i in 0..<64 {
                let (b, k) = jittered.brightnessContrast(image: i)
                XCTAssertTrue(abs(b) <= 0.1399 && abs(k - 1) <= 0.1308, "image \(i): b \(b), k \(k)")
                let values = i * 3072..<(i + 1) * 3072
                XCTAssertEqual(Array(images[values]), plain[values].map { ($0 + b) * k }, "image \(i)")
            }
            pairs.append((0..<64).flatMap { [jittered.brightnessContrast(image: $0).shift, jittered.brightnessContrast(image: $0).scale] })
        }
        XCTAssertNotEqual(pairs[0], pairs[1], "fresh each epoch")
        // Over the 128 draws the ranges are used: both signs of b, k on both sides of 1.
        let shifts = pairs.flatMap { pair in stride(from: 0, to: pair.count, by: 2).map { pair[$0] } }
        let scales = pairs.flatMap { pair in stride(from: 1, to: pair.count, by: 2).map { pair[$0] } }
        XCTAssertTrue(shifts.contains { $0 > 0.07 } && shifts.contains { $0 < -0.07 })
        XCTAssertTrue(scales.contains { $0 > 1.065 } && scales.contains { $0 < 0.935 })
    }

    /// A run with selective TTA reports it as its TTA accuracy and the full TTA of the same network beside it; its
    /// views of the selected images are those the run's evaluation picks. Without it, nothing changes.
    func testARunReportsSelectiveAndFullTTA() throws {
        var h = tinyHiverge(epochs: 1)
        let data = Dataset(cifar10: CIFAR10(train: .synthetic(count: 256, seed: 1), test: .synthetic(count: 40, seed: 2)))
        let (network, result) = try train(data: data, hyperparameters: h, seed: 1, evaluateEachEpoch: false)
        let selective = try XCTUnwrap(result.selectiveTTA)
        XCTAssertEqual(selective.selected.count, 10)
        XCTAssertEqual(result.finalLogits.count, 3)
        XCTAssertEqual(selective.selected, TTA.leastConfident(result.finalLogits[0], classes: 10, count: 10))
        XCTAssertEqual(result.ttaValidationAccuracy, network.accuracy(logits: selective.logits, labels: data.test.labels))
        XCTAssertEqual(result.fullTTAValidationAccuracy, network.accuracy(logits: result.finalLogits[2], labels: data.test.labels))
        for image in 0..<40 where !selective.selected.contains(image) {  // the others keep the plain view
            XCTAssertEqual(Array(selective.logits[image * 10..<image * 10 + 10]), Array(result.finalLogits[0][image * 10..<image * 10 + 10]))
        }
        h.ttaSelect = 1
        let full = try train(data: data, hyperparameters: h, seed: 1, evaluateEachEpoch: false).result
        XCTAssertNil(full.selectiveTTA)
        XCTAssertNil(full.fullTTAValidationAccuracy)
        XCTAssertEqual(full.ttaValidationAccuracy, result.fullTTAValidationAccuracy)
    }

    /// Results, logs and models written before hiverge's options have none of their keys: they decode with the
    /// old behaviour. A missing older key is still an error.
    func testFilesWithoutTheNewKeysDecodeWithTheOldBehaviour() throws {
        let added = ["groupActivation", "brightnessJitter", "contrastJitter", "ttaSelect", "muonRenormalization",
                     "muonCoefficients", "muonWeightDecay"]
        for method in Method.all where method.name != "airbench94_hiverge" {
            var json = try XCTUnwrap(try JSONSerialization.jsonObject(with: JSONEncoder().encode(method.hyperparameters)) as? [String: Any])
            XCTAssertTrue(added.allSatisfy { json[$0] != nil })
            for key in added { json.removeValue(forKey: key) }
            let decoded = try JSONDecoder().decode(Hyperparameters.self, from: JSONSerialization.data(withJSONObject: json))
            XCTAssertEqual(decoded, method.hyperparameters, method.name)
            json.removeValue(forKey: "momentum")
            XCTAssertThrowsError(try JSONDecoder().decode(Hyperparameters.self, from: JSONSerialization.data(withJSONObject: json)))
        }
        // Every field round-trips (the hand-written decoder names them all).
        let hiverge = Method.airbench94Hiverge.hyperparameters
        XCTAssertEqual(try JSONDecoder().decode(Hyperparameters.self, from: JSONEncoder().encode(hiverge)), hiverge)
        var faster = Method.airbench96Faster.hyperparameters
        faster.scalingFactor = 0.5
        XCTAssertEqual(try JSONDecoder().decode(Hyperparameters.self, from: JSONEncoder().encode(faster)), faster)
        // A model's spec written before the activation was a choice: GELU.
        let group = try JSONDecoder().decode(NetworkSpec.ConvGroup.self,
                                             from: Data(#"{"width":8,"convs":2,"residual":false,"activationAfterAdd":false}"#.utf8))
        XCTAssertEqual(group, NetworkSpec.ConvGroup(width: 8))
        XCTAssertEqual(group.activation, .gelu)
        // ... and written so (the other methods' model files are unchanged); SiLU is written out and read back.
        XCTAssertFalse(String(decoding: try JSONEncoder().encode(group), as: UTF8.self).contains("\"activation\""))
        let silu = NetworkSpec.ConvGroup(width: 8, activation: .silu)
        XCTAssertEqual(try JSONDecoder().decode(NetworkSpec.ConvGroup.self, from: JSONEncoder().encode(silu)), silu)
    }
}
