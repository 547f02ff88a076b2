import Airbench
import AirbenchData
import AirbenchKernels
import AirbenchTestSupport
import XCTest

/// The whole method against CPU PyTorch running our own re-implementation of Listing 4
/// (scripts/make_fixtures.py): widths 16/32/32, batch 8, five steps with Lookahead, TTA, whitening.
///
/// Tolerances: both sides compute in fp32 with different summation orders, so values agree to a few ulps of
/// the tensor's scale per operation; after a forward and backward pass through ~20 layers (BatchNorm over a
/// batch of 8 amplifies differences) 1e-4 of the tensor's scale holds with margin, and 5 optimizer steps with
/// learning rates up to 64× keep the state within 1e-4 as well. A wrong formula (momentum convention, label
/// smoothing, bias scaler, dirac, schedule index) moves the results by 1e-2 or more. Every convolution algorithm
/// is held to the same tolerances (the Winograds' extra rounding, F(4×4)'s included, is far below them).
final class PyTorchFixtureTests: XCTestCase {
    var fixture: SafetensorsFile!
    var widths = Widths()
    var h = Hyperparameters()

    override func setUpWithError() throws {
        KernelPrecision.use(.fp32)  // the fixture is fp32 PyTorch (BFloat16FixtureTests has the bf16 counterpart)
        fixture = try loadFixture("airbench94_small")
        let w = try fixture.floats("config.widths").map { Int($0) }
        widths = Widths(block1: w[0], block2: w[1], block3: w[2])
        h.widths = widths
        h.learningRate = Double(try fixture.floats("hyp.lr")[0])
        h.momentum = Double(try fixture.floats("hyp.momentum")[0])
        h.weightDecay = Double(try fixture.floats("hyp.weight_decay")[0])
        h.biasScaler = Double(try fixture.floats("hyp.bias_scaler")[0])
        h.labelSmoothing = Double(try fixture.floats("hyp.label_smoothing")[0])
        h.batchSize = Int(try fixture.floats("hyp.batch_size")[0])
    }

    override func tearDown() { KernelPrecision.use(.fastest) }

    func makeNetwork(statePrefix: String, algorithm: ConvolutionAlgorithm) throws -> Network {
        let network = Network(widths: widths)
        network.convolutionAlgorithm = algorithm
        for entry in network.state.layout.entries {
            network.state.set(entry.name, try fixture.floats(statePrefix + entry.name))
        }
        return network
    }

    func input(step: Int) throws -> [Float] {
        nhwc(try fixture.floats("step\(step).input"), batch: 8, channels: 3, height: 32, width: 32)
    }

    func labels(step: Int) throws -> [Int32] { try fixture.integers("step\(step).labels").map { Int32($0) } }

    /// The training step of `train94` on `network`, with the fixture's schedule and its one Lookahead update
    /// (after step 5); the Lookahead snapshot is the network's state now, as in the fixture.
    func makeTrainStep(_ network: Network) throws -> TrainStep {
        let schedule = try fixture.floats("hyp.schedule"), decay = try fixture.floats("hyp.lookahead_decay")[0]
        return TrainStep(network: network, hyperparameters: h,
                         schedule: GivenSchedule(factor: { Double(schedule[$0]) },
                                                 lookahead: (interval: h.lookaheadInterval, decay: Double(decay))))
    }

    /// Writes the fixture's batch of `step` into the step's buffers.
    func fill(_ trainStep: TrainStep, step: Int) throws {
        let x = try input(step: step), y = try labels(step: step)
        trainStep.images.update(from: x, count: x.count)
        trainStep.labelPointer.update(from: y, count: y.count)
    }

    func testFirstStepLogitsLossAndGradients() throws {
        forEachKernelPath { path in
            for algorithm in ConvolutionAlgorithm.fp32 {
                do {
                    let network = try makeNetwork(statePrefix: "init.", algorithm: algorithm)
                    let trainStep = try makeTrainStep(network)
                    try fill(trainStep, step: 1)
                    let (loss, _) = try trainStep.forwardBackward(whitenBiasTrainable: true)
                    let gradients = trainStep.gradients
                    let label = "\(path) \(algorithm)"
                    assertScaledClose(trainStep.workspace.logits.array, try fixture.floats("step1.logits"), tolerance: 1e-5,
                                      "\(label) logits")
                    XCTAssertEqual(loss, Double(try fixture.floats("step1.loss")[0]), accuracy: 1e-5 * loss, "\(label) loss")
                    for entry in network.state.layout.entries where entry.role != .frozen {
                        assertScaledClose(gradients.values(entry.name), try fixture.floats("step1.grad." + entry.name),
                                          tolerance: 1e-4, "\(label) grad \(entry.name)")
                    }
                } catch { XCTFail("\(error)") }
            }
        }
    }

    func testFiveStepsWithLookaheadMatchPyTorch() throws {
        for algorithm in ConvolutionAlgorithm.fp32 {
            let network = try makeNetwork(statePrefix: "init.", algorithm: algorithm)
            let trainStep = try makeTrainStep(network)  // the fixture snapshots the initial state
            for step in 1...5 {
                try fill(trainStep, step: step)
                let (loss, _) = try trainStep(whitenBiasTrainable: true)
                XCTAssertEqual(loss, Double(try fixture.floats("step\(step).loss")[0]), accuracy: 1e-4 * loss,
                               "\(algorithm) loss \(step)")
                if step == 1 {
                    for entry in network.state.layout.entries {
                        assertScaledClose(network.state.values(entry.name), try fixture.floats("step1.state." + entry.name),
                                          tolerance: 1e-5, "\(algorithm) after step 1: \(entry.name)")
                    }
                }
            }
            // Step 5 was due for Lookahead (interval 5): the state is now the fixture's final state.
            XCTAssertEqual(trainStep.stepsDone, 5)
            for entry in network.state.layout.entries {
                assertScaledClose(network.state.values(entry.name), try fixture.floats("final.state." + entry.name),
                                  tolerance: 1e-4, "\(algorithm) final \(entry.name)")
            }
        }
    }

    func testTestTimeAugmentationLevels() throws {
        for algorithm in ConvolutionAlgorithm.fp32 {
            let network = try makeNetwork(statePrefix: "final.state.", algorithm: algorithm)
            let x = try input(step: 1)
            for level in 0...2 {
                let logits = x.withUnsafeBufferPointer { network.infer(images: $0.baseAddress!, count: 8, ttaLevel: level) }
                assertScaledClose(logits, try fixture.floats("eval.logits_tta\(level)"), tolerance: 1e-5,
                                  "\(algorithm) TTA \(level)")
            }
        }
    }

    func testWhiteningMatchesPyTorchUpToEigenvectorSign() throws {
        let images = try (1...5).flatMap { try input(step: $0) }
        let (eigenvalues, weights) = images.withUnsafeBufferPointer {
            Whitening.parameters(images: $0.baseAddress!, count: 40, epsilon: 5e-4)
        }
        let expectedValues = try fixture.floats("whiten.eigenvalues"), expected = try fixture.floats("whiten.weight")
        assertScaledClose(eigenvalues.map { Float($0) }, expectedValues, tolerance: 1e-5, "eigenvalues")
        for filter in 0..<24 {
            let ours = Array(weights[filter * 12..<(filter + 1) * 12]), theirs = Array(expected[filter * 12..<(filter + 1) * 12])
            let sign: Float = zip(ours, theirs).reduce(0) { $0 + $1.0 * $1.1 } < 0 ? -1 : 1
            assertScaledClose(ours.map { $0 * sign }, theirs, tolerance: 1e-3, "whitening filter \(filter)")
        }
    }
}
