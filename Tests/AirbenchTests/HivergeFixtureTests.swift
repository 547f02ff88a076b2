import Airbench
import AirbenchData
import AirbenchKernels
import Foundation
import XCTest

/// airbench94_hiverge's new pieces against CPU PyTorch (scripts/make_hiverge_fixtures.py, our own
/// re-implementation of hiverge's script from the spec `airbench-hiverge.md`): the SiLU ConvGroups forward and
/// backward, hiverge's Muon (new Newton–Schulz coefficients, adaptive renormalisation, decoupled weight decay)
/// with its SGD over 5 steps, the renormalisation steps, the brightness/contrast jitter given its draws and
/// selective TTA. Tolerances as FamilyFixtureTests.
final class HivergeFixtureTests: XCTestCase {
    override func setUp() { KernelPrecision.use(.fp32) }
    override func tearDown() { KernelPrecision.use(.fastest) }

    /// The preset at the fixture's size: widths 8/16/16, batch 8, 40 steps of 5 per epoch, the whitening bias for
    /// 3, and its exaggerated weight decay (wd per example, SGD's coupled as wd/lr per group, Muon's decoupled).
    /// The other values are the preset's, checked against the fixture's.
    func fixtureHyperparameters(_ file: SafetensorsFile) throws -> Hyperparameters {
        var h = Method.airbench94Hiverge.hyperparameters
        let w = try file.floats("config.widths").map { Int($0) }
        h.widths = Widths(block1: w[0], block2: w[1], block3: w[2])
        h.batchSize = Int(try scalar(file, "hyp.batch_size"))
        for (value, key) in [(h.momentum, "momentum"), (h.labelSmoothing, "label_smoothing"),
                             (h.muonLearningRate, "muon_lr"), (h.muonMomentum, "muon_momentum"),
                             (h.batchNormMomentum, "batchnorm_momentum")] {
            XCTAssertEqual(value, try scalar(file, "hyp." + key), accuracy: 1e-6, "the preset's \(key)")
        }
        let kilostep = SGDRates.kilostep(momentum: h.momentum), decayPerExample = try scalar(file, "hyp.wd_per_example")
        XCTAssertEqual(h.learningRate / kilostep, try scalar(file, "hyp.head_lr"), accuracy: 1e-6)
        XCTAssertEqual(h.learningRate / kilostep * h.biasScaler, try scalar(file, "hyp.bias_lr"), accuracy: 1e-7)
        h.weightDecay = decayPerExample * kilostep
        h.muonWeightDecay = decayPerExample * 1024
        let total = Int(try scalar(file, "hyp.total_steps")), biasSteps = Int(try scalar(file, "hyp.whiten_bias_steps"))
        h.trainEpochs = Double(total) / 5
        h.whitenBiasEpochs = Double(biasSteps) / 5
        return h
    }

    /// 5 steps of a 40-step run: the adaptive rule renormalises at t = 2 and 5 (not 1, 3, 4), the whitening bias
    /// trains for 3 steps; step 1's logits and gradients test the SiLU groups forward and backward.
    ///
    /// The convolutions run direct, as PyTorch's: the states after Muon's steps amplify a convolution's rounding
    /// far more than SGD's do. Measured (Zen 5, 2026-12-06), the worst final state's error in units of its scale,
    /// this test / the Muon test of FamilyFixtureTests: F(2×2) 7.6e-6 / 3.6e-6, F(4×4) 3.3e-5 / 1.0e-5, F(6×6)
    /// 9.6e-3 / 2.8e-3 — while every step-1 gradient agrees within 1.5e-5 under each, and F(6×6)'s error on
    /// airbench94's trained operands is about twice F(4×4)'s (`bench --errors`, BENCHMARKS.md). The orthogonalisation
    /// divides a gradient's error by its smallest singular values, so tolerances that hold the first step
    /// cannot hold the states; the convolutions themselves are tested against references (ConvolutionTests).
    func testSiLUGroupsWithHivergesMuonAndSGDMatchPyTorch() throws {
        let file = try loadFixture("hiverge")
        let h = try fixtureHyperparameters(file)
        let plan = RunPlan(h, trainImages: 5 * h.batchSize)
        XCTAssertEqual(plan.totalSteps, Int(try scalar(file, "hyp.total_steps")))
        XCTAssertEqual(plan.whitenBiasSteps, 3)
        XCTAssertEqual(plan.muonRenormalizationSteps, try file.integers("renorm.steps40"))
        XCTAssertEqual((0..<5).filter { plan.muonRenormalizes(step: $0) }, [1, 4])  // t = 2 and 5
        let network = try fixtureNetwork(h, file, prefix: "init.")
        network.convolutionAlgorithm = .direct
        XCTAssertEqual(network.spec.groups.map(\.activation), [.silu, .silu, .silu])
        let step = TrainStep(network: network, plan: plan)
        try checkFixtureSteps(file, network, step, steps: 5, whitenBiasSteps: plan.whitenBiasSteps, label: "hiverge")
    }

    /// Newton–Schulz with hiverge's coefficients (σ = 1 → 0.80) on a 16×72 matrix; the fixture computes it
    /// literally, with the τ pre-scale that cancels to 2e-5 here. airbench94_muon's coefficients are far off.
    func testNewtonSchulzWithHivergesCoefficientsMatchesPyTorch() throws {
        let file = try loadFixture("hiverge")
        let g = try file.floats("ns.input"), expected = try file.floats("ns.output")
        assertScaledClose(NewtonSchulz.orthogonalize(g, rows: 16, columns: 72, coefficients: .hiverge), expected,
                          tolerance: 1e-4, "Newton–Schulz, hiverge's coefficients")
        let muon = NewtonSchulz.orthogonalize(g, rows: 16, columns: 72, coefficients: .muon)
        XCTAssertGreaterThan(zip(muon, expected).map { abs($0 - $1) }.max()!, 1e-2)
    }

    /// The steps the rule renormalises at: the spec's list of 37 for T = 243 (written out here from
    /// `airbench-hiverge.md` §4.3), the fixture's rule for 243 and 40, the presets' plans.
    func testRenormalisationStepsOfTheAdaptiveRule() throws {
        let spec = [2, 4, 6, 8, 10, 12, 14, 16, 19, 22, 25, 28, 31, 35, 39, 43, 47, 52, 57, 62, 68, 74, 80, 87, 94, 102,
                    110, 119, 128, 138, 149, 160, 172, 185, 199, 214, 230]
        XCTAssertEqual(spec.count, 37)
        XCTAssertEqual(Schedules.adaptiveRenormalization(totalSteps: 243), spec)
        let file = try loadFixture("hiverge")
        XCTAssertEqual(try file.integers("renorm.steps243"), spec)
        XCTAssertEqual(Schedules.adaptiveRenormalization(totalSteps: 40), try file.integers("renorm.steps40"))
        XCTAssertEqual(Schedules.adaptiveRenormalization(totalSteps: 40), [2, 5, 10, 18, 31])
        XCTAssertEqual(Schedules.adaptiveRenormalization(totalSteps: 15), [])  // the interval outgrows t
        let hiverge = RunPlan(Method.airbench94Hiverge.hyperparameters, trainImages: 50_000)
        XCTAssertEqual(hiverge.muonRenormalizationSteps, spec)
        XCTAssertFalse(hiverge.muonRenormalizes(step: 0))
        XCTAssertTrue(hiverge.muonRenormalizes(step: 1))
        let muon = RunPlan(Method.airbench94Muon.hyperparameters, trainImages: 50_000)
        XCTAssertEqual(muon.muonRenormalizationSteps, Array(1...200))
    }

    /// (x + b)·k per image in normalised space, given the drawn shift and scale.
    func testJitterGivenItsDrawsMatchesPyTorch() throws {
        let file = try loadFixture("hiverge")
        let shift = try file.floats("jitter.shift"), scale = try file.floats("jitter.scale")
        let pixels = 3 * 32 * 32
        var x = Array(try file.floats("step1.input")[0..<4 * pixels])
        x.withUnsafeMutableBufferPointer { buffer in
            for i in 0..<4 {
                Augmentation.brightnessContrast(buffer.baseAddress! + i * pixels, count: pixels, shift: shift[i], scale: scale[i])
            }
        }
        assertScaledClose(x, try file.floats("jitter.output"), tolerance: 1e-6, "jitter")
    }

    /// Selective TTA of 16 images by the network after the fixture's 5 steps: the plain logits, the 4 least
    /// confident, and their 6 views' plain mean merged in.
    func testSelectiveTTAChoosesAndMergesAsPyTorch() throws {
        let file = try loadFixture("hiverge")
        let h = try fixtureHyperparameters(file)
        let network = try fixtureNetwork(h, file, prefix: "final.state.")
        let images = try ["step4", "step5"].flatMap {
            nhwc(try file.floats($0 + ".input"), batch: 8, channels: 3, height: 32, width: 32)
        }
        let plain = network.inferLevels([0], images)[0]
        assertScaledClose(plain, try file.floats("tta.plain_logits"), tolerance: 1e-5, "plain logits")
        let count = try XCTUnwrap(TTA.selectedCount(fraction: try scalar(file, "tta.fraction"), testImages: 16))
        XCTAssertEqual(count, 4)
        let selective = network.selectiveTTA(plainLogits: plain, images: images, selecting: count, level: 2)
        XCTAssertEqual(selective.selected, try file.integers("tta.selected"))
        assertScaledClose(selective.logits, try file.floats("tta.logits"), tolerance: 1e-5, "merged logits")
        XCTAssertEqual(network.predictions(logits: selective.logits), network.predictions(logits: try file.floats("tta.logits")))
    }

    /// The least-confident rule on hand-made logits: confidence is the top softmax probability, ties go to the
    /// lower index, the result is in ascending order.
    func testLeastConfidentByHand() {
        // Confidences: image 0 certain, 1 uniform (0.5), 2 nearly certain, 3 uniform again (a tie with 1).
        let logits: [Float] = [10, 0, 0, 0, 5, 0, 0, 0]
        XCTAssertEqual(TTA.leastConfident(logits, classes: 2, count: 1), [1])
        XCTAssertEqual(TTA.leastConfident(logits, classes: 2, count: 2), [1, 3])
        XCTAssertEqual(TTA.leastConfident(logits, classes: 2, count: 3), [1, 2, 3])
        XCTAssertEqual(TTA.selectedCount(fraction: 0.25, testImages: 10_000), 2500)
        XCTAssertEqual(TTA.selectedCount(fraction: 0.25, testImages: 3), 0)  // Python's int(): rounded down
        XCTAssertNil(TTA.selectedCount(fraction: 1, testImages: 10_000))
    }

    /// A hiverge model exported as `airbench train --save-model` writes it has exactly the PyTorch state_dict keys
    /// of hiverge's `CifarNet` (the fixture's, written from PyTorch) and records the method and its selective TTA.
    /// With AIRBENCH_HIVERGE_EXPORT_TO=FILE.safetensors the model and FILE.check.safetensors (the test images,
    /// NCHW, with this engine's selective-TTA choice, logits and predictions) are written for
    /// `scripts/make_hiverge_fixtures.py --verify-export FILE.safetensors`.
    func testExportedModelHasTheOriginalNames() throws {
        let h = tinyHiverge(epochs: 2)
        let data = Dataset(cifar10: CIFAR10(train: .synthetic(count: 256, seed: 1), test: .synthetic(count: 16, seed: 2)))
        let (network, result) = try train(data: data, hyperparameters: h, seed: 3, evaluateEachEpoch: false)
        let selective = try XCTUnwrap(result.selectiveTTA)
        XCTAssertEqual(selective.selected.count, 4)
        let exported = ProcessInfo.processInfo.environment["AIRBENCH_HIVERGE_EXPORT_TO"]
        let url = exported.map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("hiverge-\(UUID().uuidString).safetensors")
        defer { if exported == nil { try? FileManager.default.removeItem(at: url) } }
        try network.save(to: url, metadata: network.specMetadata.merging(
            ["method": h.method, "tta_select": String(h.ttaSelect)]) { $1 })
        let file = try SafetensorsFile.read(from: url)
        let pytorchKeys = Set(try loadFixture("hiverge").names.filter { $0.hasPrefix("init.") }.map { String($0.dropFirst(5)) })
        XCTAssertEqual(Set(file.names), pytorchKeys)
        XCTAssertEqual(file.metadata["method"], "airbench94_hiverge")
        XCTAssertEqual(file.metadata["tta_select"], "0.25")
        let loaded = try Network.load(from: url)
        XCTAssertEqual(loaded.spec, network.spec)
        XCTAssertEqual(loaded.spec.groups.map(\.activation), [.silu, .silu, .silu])
        guard exported != nil else { return }
        var check = SafetensorsFile()
        let images = CifarLoader.normalizedImages(data.test, normalization: data.normalization)
        check.setFloats(nchw(images, batch: 16, channels: 3, height: 32, width: 32), shape: [16, 3, 32, 32], for: "images")
        check.setFloats(selective.logits, shape: [16, 10], for: "logits")
        check.setIntegers(selective.selected, shape: [4], for: "selected")
        check.setIntegers(network.predictions(logits: selective.logits).map(Int.init), shape: [16], for: "predictions")
        try check.write(to: url.deletingPathExtension().appendingPathExtension("check.safetensors"))
    }
}
