import Airbench
import AirbenchKernels
import XCTest

/// The family's new pieces against CPU PyTorch (scripts/make_family_fixtures.py, our own re-implementation of the
/// reference scripts from the spec): the 3-conv residual ConvGroup with the GELU before and after the add,
/// Muon with its per-group schedules and `CifarNet` names, the proxy's top-k selection and masked step, and the
/// schedules at full scale. Tolerances are those of PyTorchFixtureTests (both sides fp32, different summation
/// orders): 1e-5 of the tensor's scale for one forward pass, 1e-4 for gradients and states after steps.
final class FamilyFixtureTests: XCTestCase {
    override func setUp() { KernelPrecision.use(.fp32) }
    override func tearDown() { KernelPrecision.use(.fastest) }

    /// The fixture's hyperparameters on top of `base`: widths, group shape, SGD values, BatchNorm, head scale.
    func hyperparameters(_ file: SafetensorsFile, base: Hyperparameters = Hyperparameters()) throws -> Hyperparameters {
        var h = base
        let w = try file.floats("config.widths").map { Int($0) }
        h.widths = Widths(block1: w[0], block2: w[1], block3: w[2])
        h.convsPerGroup = Int(try scalar(file, "config.convs"))
        h.residual = h.convsPerGroup == 3
        h.activationAfterAdd = try scalar(file, "config.activation_after_add") == 1
        h.batchSize = Int(try scalar(file, "hyp.batch_size"))
        h.momentum = try scalar(file, "hyp.momentum")
        h.labelSmoothing = try scalar(file, "hyp.label_smoothing")
        h.batchNormMomentum = try scalar(file, "hyp.batchnorm_momentum")
        if file.contains("hyp.lr") {
            h.learningRate = try scalar(file, "hyp.lr")
            h.weightDecay = try scalar(file, "hyp.weight_decay")
            h.biasScaler = try scalar(file, "hyp.bias_scaler")
        }
        return h
    }

    func testResidualGroupsBothActivationPlacementsMatchPyTorch() throws {
        for (name, after) in [("family_residual_before", false), ("family_residual_after", true)] {
            let file = try loadFixture(name)
            let h = try hyperparameters(file)
            XCTAssertEqual(h.activationAfterAdd, after)
            XCTAssertTrue(h.residual)
            let network = try fixtureNetwork(h, file, prefix: "init.")
            XCTAssertTrue(network.state.layout.entries.contains { $0.name == "2.conv3.weight" })
            let schedule = try file.floats("hyp.schedule")
            let step = TrainStep(network: network, hyperparameters: h, schedule: GivenSchedule(factor: { Double(schedule[$0]) }))
            try checkFixtureSteps(file, network, step, label: name)
        }
    }

    func testNewtonSchulzInFloat32MatchesPyTorch() throws {
        let file = try loadFixture("family_muon")
        for (name, rows, columns) in [("wide", 16, 72), ("tall", 40, 12)] {
            let g = try file.floats("ns.\(name).input")
            XCTAssertEqual(g.count, rows * columns)
            let ours = NewtonSchulz.orthogonalize(g, rows: rows, columns: columns)
            assertScaledClose(ours, try file.floats("ns.\(name).output"), tolerance: 1e-5, "Newton–Schulz \(name)")
        }
    }

    /// airbench94_muon at widths 8/16/16, batch 8: 3 steps of a 10-step run, the whitening bias trained for 2 with
    /// its own schedule; learning rates per group as the fixture read them back from its optimizers.
    func testMuonStepsWithPerGroupSchedulesMatchPyTorch() throws {
        let file = try loadFixture("family_muon")
        var h = try hyperparameters(file, base: Method.airbench94Muon.hyperparameters)
        let kilostep = 1024 * (1 + 1 / (1 - h.momentum)), headRate = try scalar(file, "hyp.head_lr")
        let biasRate = try scalar(file, "hyp.bias_lr")
        h.learningRate = headRate * kilostep
        h.biasScaler = biasRate / headRate
        h.whitenBiasScaler = biasRate / headRate
        h.weightDecay = try scalar(file, "hyp.wd_per_example") * kilostep
        h.muonLearningRate = try scalar(file, "hyp.muon_lr")
        h.muonMomentum = try scalar(file, "hyp.muon_momentum")
        XCTAssertEqual(h.networkSpec().head.scalingFactor, try scalar(file, "hyp.scaling_factor"), accuracy: 1e-7)
        let network = try fixtureNetwork(h, file, prefix: "init.")
        network.convolutionAlgorithm = .direct  // as PyTorch computes them (HivergeFixtureTests: why)
        XCTAssertEqual(network.whiteningWeight.name, "whiten.weight")
        // The run's plan from the library, as `train` makes it: 25 steps per epoch make 3 whitening-bias epochs
        // 75 steps at full scale; here the fixture's 10 steps of 5 per epoch with whitenBiasEpochs 0.4.
        let total = Int(try scalar(file, "hyp.total_steps")), biasSteps = Int(try scalar(file, "hyp.whiten_bias_steps"))
        h.whitenBiasEpochs = Double(biasSteps) / 5
        h.trainEpochs = Double(total) / 5
        let plan = RunPlan(h, trainImages: 5 * h.batchSize)
        XCTAssertEqual(plan.totalSteps, total)
        XCTAssertEqual(plan.whitenBiasSteps, biasSteps)
        let sgd = plan.rates
        for k in 1...3 {
            let factor = plan.scheduleFactor(step: k - 1)
            XCTAssertEqual(sgd.weights * factor, try scalar(file, "step\(k).lr.head"), accuracy: 1e-6, "head lr \(k)")
            XCTAssertEqual(sgd.normBiases * factor, try scalar(file, "step\(k).lr.norm_biases"), accuracy: 1e-7, "bias lr \(k)")
            XCTAssertEqual(h.muonLearningRate * factor, try scalar(file, "step\(k).lr.muon"), accuracy: 1e-7, "Muon lr \(k)")
            XCTAssertEqual(sgd.whitenBias * plan.whitenBiasFactor(step: k - 1)!,
                           try scalar(file, "step\(k).lr.whiten_bias"), accuracy: 1e-7, "whitening-bias lr \(k)")
        }
        let step = TrainStep(network: network, plan: plan)
        XCTAssertNil(step.lookahead)
        XCTAssertNotNil(step.muon)
        try checkFixtureSteps(file, network, step, whitenBiasSteps: biasSteps, label: "muon")
    }

    /// airbench96_faster's proxy: per-example losses, the 8 highest of 16 kept, a step on their summed loss.
    func testProxySelectionAndMaskedStepMatchPyTorch() throws {
        let file = try loadFixture("family_proxy")
        var h = try hyperparameters(file)
        h.whitenBiasEpochs = 0
        let network = try fixtureNetwork(h, file, prefix: "proxy.init.")
        let schedule = try file.floats("hyp.schedule")
        let step = TrainStep(network: network, hyperparameters: h, schedule: GivenSchedule(factor: { Double(schedule[$0]) }))
        try fillFixtureBatch(step, file, "proxy")
        var losses = [Double](repeating: 0, count: step.batchSize)
        _ = try losses.withUnsafeMutableBufferPointer { try step.forwardLoss(perExample: $0.baseAddress!) }
        assertScaledClose(step.workspace.logits.array, try file.floats("proxy.logits"), tolerance: 1e-5, "proxy logits")
        assertScaledClose(losses.map(Float.init), try file.floats("proxy.losses"), tolerance: 1e-5, "per-example losses")
        let keep = Int(try scalar(file, "hyp.batch_size_masked"))
        let kept = ProxyFilter.highestLosses(losses, keep: keep)
        let mask = try file.integers("proxy.mask")
        XCTAssertEqual(kept.map(Int.init), mask.indices.filter { mask[$0] == 1 }, "the kept examples")
        XCTAssertEqual(kept.map { losses[Int($0)] }.reduce(0, +), try scalar(file, "proxy.loss"), accuracy: 1e-5 * 8)
        ProxyFilter.keepGradientRows(kept, gradient: step.workspace.gradientLogitsPointer, batch: step.batchSize,
                                     classes: network.classes)
        step.backward(whitenBiasTrainable: false)
        for entry in network.state.layout.entries where entry.role != .frozen && entry.role != .whitenBias {
            assertScaledClose(step.gradients.values(entry.name), try file.floats("proxy.grad." + entry.name),
                              tolerance: 1e-4, "proxy grad \(entry.name)")
        }
        step.update(whitenBiasTrainable: false)
        for entry in network.state.layout.entries {
            assertScaledClose(network.state.values(entry.name), try file.floats("proxy.state." + entry.name),
                              tolerance: 1e-4, "proxy state \(entry.name)")
        }
    }

    /// The top-k rule on its own: ties go to the later index (as `argsort()[-k:]` with a stable sort), and the
    /// result is in ascending index order.
    func testHighestLossesKeepsTheLargestInIndexOrder() {
        XCTAssertEqual(ProxyFilter.highestLosses([0.5, 3, 1, 2, 0.1], keep: 2), [1, 3])
        XCTAssertEqual(ProxyFilter.highestLosses([1, 1, 1, 0], keep: 2), [1, 2])
        XCTAssertEqual(ProxyFilter.highestLosses([2, 1], keep: 2), [0, 1])
    }

    func testSchedulesMatchTheReferenceFormulas() throws {
        let file = try loadFixture("family_schedules")
        func check(_ ours: [Double], _ key: String) throws {
            let theirs = try file.floats(key)
            XCTAssertEqual(ours.count, theirs.count, key)
            assertScaledClose(ours.map(Float.init), theirs, tolerance: 1e-6, key)
        }
        try check(Schedules.triangle(totalSteps: 476, start: 0.2, peak: 0.23, end: 0.07), "triangle")
        try check(Schedules.warmupThenLinear(totalSteps: 1776), "warmup_linear")
        try check(Schedules.warmupThenLinear(totalSteps: 2160), "faster")
        try check(Array(Schedules.linearDecay(totalSteps: 200).dropLast()), "muon_main")
        try check(Array(Schedules.linearDecay(totalSteps: 75).dropLast()), "muon_whiten_bias")
        try check(Schedules.lookaheadDecay(totalSteps: 476), "lookahead_decay")
        // The presets' plans follow these forms, step by step.
        let june = RunPlan(Method.airbench96June2024.hyperparameters, trainImages: 50_000)
        XCTAssertEqual(june.totalSteps, 1776)
        XCTAssertEqual((0...1776).map { june.scheduleFactor(step: $0) }, Schedules.warmupThenLinear(totalSteps: 1776))
        let muon = RunPlan(Method.airbench94Muon.hyperparameters, trainImages: 50_000)
        XCTAssertEqual(muon.totalSteps, 200)
        XCTAssertEqual((0...200).map { muon.scheduleFactor(step: $0) }, Schedules.linearDecay(totalSteps: 200))
        XCTAssertEqual(muon.whitenBiasSteps, 75)
        XCTAssertEqual((0...75).map { muon.whitenBiasFactor(step: $0)! }, Schedules.linearDecay(totalSteps: 75))
        XCTAssertEqual(muon.whitenBiasFactor(step: 90), 0)  // past the freeze (never read: it no longer trains)
        let paper = RunPlan(Method.airbench94.hyperparameters, trainImages: 50_000)
        let decay = Schedules.lookaheadDecay(totalSteps: 476)
        XCTAssertEqual((1...476).map { paper.lookaheadDecay(afterStep: $0) },
                       (1...476).map { $0 % 5 == 0 ? decay[$0] : nil }, "Lookahead syncs every 5 steps")
        XCTAssertNil(muon.lookaheadDecay(afterStep: 5), "airbench94_muon has no Lookahead")
    }
}
