import Airbench
import AirbenchKernels
import XCTest

/// The bf16 path against CPU PyTorch computing every convolution pass on bf16-rounded operands in fp32
/// (scripts/make_fixtures.py, `BF16OperandConv`), which is what `vdpbf16ps` computes: a product of two bf16 is
/// exact in fp32.
///
/// Single convolutions, fed the same fp32 operands as PyTorch, round them identically, so only the fp32
/// summation order differs: the fp32 tolerance (1e-5 of the tensor's scale) holds.
///
/// Through the whole network that no longer holds, and cannot: the two sides' fp32 activations differ by a
/// few ulps after the first layer, and an ulp moves a value across a bf16 rounding boundary with probability
/// about 2⁻¹⁶; each such value then differs by a whole bf16 step (2⁻⁸ relative), and these differences grow
/// through the layers like any bf16 rounding noise. So the network test measures distances in units of the
/// bf16 noise of PyTorch's own run: unit = RMS difference between PyTorch's bf16 emulation and PyTorch fp32 on
/// the first training step, per tensor (logits and every gradient). An fp32 run is 0 units from fp32 and 1
/// from the emulation; a run that rounds but shares none of the emulation's rounding would be ~1.4 (√2) from
/// it. Measured (Zen 5, 2026-11-29): ours is 0.15–0.68 units from the emulation and 0.99–1.22 from fp32. The
/// test asks for at most 0.85 from the emulation and at least 0.85 from fp32: closer to PyTorch's bf16 run
/// than to its fp32 run, in every tensor.
final class BFloat16FixtureTests: XCTestCase {
    var fixture: SafetensorsFile!
    var fp32: SafetensorsFile!

    override func setUpWithError() throws {
        guard KernelPrecision.bf16Supported else { throw XCTSkip("this CPU has no AVX512_BF16") }
        fixture = try loadFixture("airbench94_small_bf16")
        fp32 = try loadFixture("airbench94_small")
        KernelPath.use(.avx512)
        XCTAssertEqual(KernelPrecision.use(.bf16), .bf16)
    }

    override func tearDown() {
        KernelPath.use(KernelPath.detected)
        KernelPrecision.use(.fastest)
    }

    func testSingleConvolutionsMatchPyTorch() throws {
        for (name, cin, cout, side, k) in [("conv3x3", 24, 20, 9, 3), ("conv2x2", 3, 24, 8, 2)] {
            let s = ConvolutionShape(batch: 2, inputHeight: side, inputWidth: side, inputChannels: cin,
                                     outputChannels: cout, kernelSize: k, padding: (k - 1) / 2)
            let x = nhwc(try fixture.floats("\(name).x"), batch: 2, channels: cin, height: side, width: side)
            let w = try fixture.floats("\(name).w")
            let oh = s.outputHeight, ow = s.outputWidth
            let dy = nhwc(try fixture.floats("\(name).dy"), batch: 2, channels: cout, height: oh, width: ow)
            let y = FloatBuffer(count: s.outputCount), dx = FloatBuffer(count: s.inputCount)
            let dw = FloatBuffer(count: s.weightCount)
            w.withUnsafeBufferPointer { w in
                Convolution.forward(s, input: x, weights: .forward(w.baseAddress!, shape: s), output: y.pointer)
                Convolution.backwardData(s, gradOutput: dy, weights: .backwardData(w.baseAddress!, shape: s),
                                         gradInput: dx.pointer)
            }
            Convolution.backwardWeights(s, input: x, gradOutput: dy, gradWeights: dw.pointer)
            assertScaledClose(nchw(y.array, batch: 2, channels: cout, height: oh, width: ow),
                              try fixture.floats("\(name).y"), tolerance: 1e-5, "\(name) y")
            assertScaledClose(nchw(dx.array, batch: 2, channels: cin, height: side, width: side),
                              try fixture.floats("\(name).dx"), tolerance: 1e-5, "\(name) dx")
            assertScaledClose(dw.array, try fixture.floats("\(name).dw"), tolerance: 1e-5, "\(name) dw")
        }
    }

    func testFirstStepIsWithinBFloat16NoiseOfPyTorch() throws {
        for (name, toEmulation, toFP32) in try firstStepDistances(.auto) {
            XCTAssertLessThanOrEqual(toEmulation, 0.85, "\(name): \(toEmulation) bf16-noise units from PyTorch's bf16 run")
            XCTAssertGreaterThanOrEqual(toFP32, 0.85, "\(name): only \(toFP32) bf16-noise units from fp32")
        }
    }

    /// The first step with bf16 products in the Winograd domain on every 3×3 pass (`winograd-bf16`,
    /// `winograd4x4-bf16`), in the same units. PyTorch has no emulation of that rounding, so the tolerance is the
    /// bound on its error: each bf16-F(2×2) pass errs by at most twice bf16-direct's (measured per layer of airbench94:
    /// 0.97–1.91×, BFloat16Winograd.measured), and errors pass through the network linearly at this size, so the step
    /// lies within 2 units of fp32 (bf16-direct's run: 1); bf16-F(4×4) within its amplification for independent
    /// operands, 10.8 units (correlated activations lower it). Measured (Zen 5, 2026-12-06): F(2×2) 0.55–1.25 units,
    /// F(4×4) 1.6–5.2; fp32 Winograds with the bf16 whitening convolution 0.25–1.07, so a lower bound would prove
    /// nothing here (the kernel tests check that the rounding happens, BFloat16WinogradTests).
    func testBFloat16WinogradFirstStepIsWithinItsBound() throws {
        for algorithm in [ConvolutionAlgorithm.winogradBF16, .winograd4x4BF16] {
            let bound = algorithm == .winogradBF16 ? 2 : BFloat16Winograd.amplification(tile: 4)
            for (name, _, toFP32) in try firstStepDistances(algorithm) {
                XCTAssertLessThanOrEqual(toFP32, bound, "\(algorithm) \(name): \(toFP32) bf16-noise units from fp32")
            }
        }
    }

    /// The first training step of the fixture run with `algorithm`: for the logits and every gradient, the RMS
    /// distance to PyTorch's bf16 emulation and to PyTorch fp32, in units of the distance between those two.
    func firstStepDistances(_ algorithm: ConvolutionAlgorithm) throws -> [(String, Double, Double)] {
        let w = try fp32.floats("config.widths").map { Int($0) }
        let network = Network(widths: Widths(block1: w[0], block2: w[1], block3: w[2]))
        network.convolutionAlgorithm = algorithm
        for entry in network.state.layout.entries { network.state.set(entry.name, try fp32.floats("init." + entry.name)) }
        var h = Hyperparameters()
        h.batchSize = 8
        h.labelSmoothing = Double(try fp32.floats("hyp.label_smoothing")[0])
        let trainStep = TrainStep(network: network, hyperparameters: h, schedule: GivenSchedule(factor: { _ in 1 }))
        let x = nhwc(try fp32.floats("step1.input"), batch: 8, channels: 3, height: 32, width: 32)
        let labels = try fp32.integers("step1.labels").map { Int32($0) }
        trainStep.images.update(from: x, count: x.count)
        trainStep.labelPointer.update(from: labels, count: labels.count)
        _ = try trainStep.forwardBackward(whitenBiasTrainable: true)
        let gradients = trainStep.gradients
        var tensors = [("logits", trainStep.workspace.logits.array)]
        for entry in network.state.layout.entries where entry.role != .frozen {
            tensors.append(("grad." + entry.name, gradients.values(entry.name)))
        }
        func rms(_ a: [Float], _ b: [Float]) -> Double {
            (zip(a, b).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) } / Double(a.count)).squareRoot()
        }
        return try tensors.map { name, ours in
            let emulation = try fixture.floats("step1." + name), reference = try fp32.floats("step1." + name)
            let unit = rms(emulation, reference)
            return (name, rms(ours, emulation) / unit, rms(ours, reference) / unit)
        }
    }
}
