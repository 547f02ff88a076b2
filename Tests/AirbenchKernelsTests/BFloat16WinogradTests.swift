import AirbenchKernels
import XCTest

/// bf16 products in the Winograd domain (`winograd-bf16`, `winograd4x4-bf16`): the AVX512_BF16 kernels against the
/// plain-C kernels of the same arithmetic, and both against the exact convolution within the error their arithmetic
/// predicts, without bias.
final class BFloat16WinogradTests: XCTestCase {
    static let algorithms: [ConvolutionAlgorithm] = [.winogradBF16, .winograd4x4BF16]

    /// The three passes of `s` under `algorithm` on the active path.
    static func passes(_ algorithm: ConvolutionAlgorithm, _ s: ConvolutionShape, input: [Float], weights: [Float],
                       gradOutput: [Float]) -> [ConvolutionPass: [Float]] {
        let output = FloatBuffer(count: s.outputCount, repeating: .nan)
        let gradInput = FloatBuffer(count: s.inputCount, repeating: .nan)
        let gradWeights = FloatBuffer(count: s.weightCount, repeating: .nan)
        weights.withUnsafeBufferPointer { w in
            let forward = PackedWeights.forward(w.baseAddress!, shape: s, algorithm: algorithm)
            let backward = PackedWeights.backwardData(w.baseAddress!, shape: s, algorithm: algorithm)
            XCTAssertEqual([forward.algorithm, backward.algorithm], [algorithm, algorithm])
            XCTAssertEqual([forward.precision, backward.precision], [.bf16, .bf16])
            Convolution.forward(s, input: input, weights: forward, output: output.pointer)
            Convolution.backwardData(s, gradOutput: gradOutput, weights: backward, gradInput: gradInput.pointer)
        }
        Convolution.backwardWeights(s, input: input, gradOutput: gradOutput, gradWeights: gradWeights.pointer,
                                    algorithm: algorithm)
        return [.forward: output.array, .backwardData: gradInput.array, .backwardWeights: gradWeights.array]
    }

    /// The AVX512_BF16 kernels (`vcvtne2ps2bf16`, `vdpbf16ps`) against the plain-C kernels of the portable path on
    /// the same operands. Both take the same fp32 transforms (their builds give the same bits on every path), round
    /// them to the same bf16 values (nearest even) and form the same exact products; only the order in which fp32
    /// adds the products differs (the hardware's pair and accumulator additions against plain C's pair sum, then
    /// accumulator). Each order lies within fp32 summation error of the exact sum of those products: the kind of
    /// error an fp32 Winograd's GEMM makes against exact arithmetic, so the fp32 Winograds' tolerances of
    /// ConvolutionTests bound the difference (they also cover the transforms' rounding, identical here: a margin).
    /// Observed: elementwise at most 7e-6 (F(2×2)) and 6e-5 (F(4×4)) on outputs of RMS 4–10, against tolerances of
    /// 1e-5 and 2.5e-4 absolute plus relative; a bf16 rounding or pairing off anywhere moves results by ~1e-2.
    /// Shapes: ConvolutionTests' (odd channel counts, whose last pair ends in a zero; cropped outputs; overhanging
    /// and odd counts of tiles) and a 256-channel layer whose 117 F(2×2) tiles span two weight-gradient chunks of
    /// 112 with an odd remainder.
    func testHardwareMatchesPlainC() throws {
        guard KernelPrecision.bf16Supported else { throw XCTSkip("this CPU has no AVX512_BF16") }
        defer { KernelPath.use(KernelPath.detected) }
        let wide = ConvolutionShape(batch: 13, inputHeight: 5, inputWidth: 5, inputChannels: 256, outputChannels: 256,
                                    kernelSize: 3, padding: 1)
        for (i, s) in (ConvolutionTests.shapes + [wide]).enumerated() where s.kernelSize == 3 {
            var random = TestRandom(UInt64(700 + i))
            let input = random.array(s.inputCount), weights = random.array(s.weightCount)
            let gradOutput = random.array(s.outputCount)
            let magnitude = Reference.convolutionBackwardWeights(s, input: input.map(abs), gradOutput: gradOutput.map(abs))
            for algorithm in Self.algorithms {
                KernelPath.use(.avx512)
                let hardware = Self.passes(algorithm, s, input: input, weights: weights, gradOutput: gradOutput)
                KernelPath.use(.portable)
                let plain = Self.passes(algorithm, s, input: input, weights: weights, gradOutput: gradOutput)
                let fp32 = algorithm == .winogradBF16 ? ConvolutionAlgorithm.winograd : .winograd4x4
                for pass in [ConvolutionPass.forward, .backwardData] {
                    let tolerance = ConvolutionTests.tolerance(fp32, forPass: s, pass)
                    assertClose(hardware[pass]!, plain[pass]!, absolute: tolerance, relative: tolerance,
                                "\(algorithm) \(pass) shape \(i)")
                }
                let tolerance = ConvolutionTests.weightsTolerance(fp32, forPass: s)
                let (a, b) = (hardware[.backwardWeights]!, plain[.backwardWeights]!)
                let worst = a.indices.max { abs(a[$0] - b[$0]) / magnitude[$0] < abs(a[$1] - b[$1]) / magnitude[$1] }!
                XCTAssertLessThanOrEqual(abs(a[worst] - b[worst]), tolerance * magnitude[worst],
                                         "\(algorithm) backward-weights shape \(i): element \(worst): \(a[worst]) vs \(b[worst])")
            }
        }
    }

    /// Against the exact convolution (Double), on the hardware and in plain C: the error ‖y − y₆₄‖/‖y₆₄‖ of every
    /// pass is what the arithmetic predicts, `BFloat16Winograd.amplification` times bf16-direct's error on the same
    /// operands (the exact convolution of the bf16-rounded operands), within 0.8–1.5× (measured 1.1–1.2× on these
    /// uniform operands: see `amplification`); a skipped rounding, or an operand paired with the wrong partner, lands
    /// far outside. And the error has no component along the result: |Σ e·y₆₄ / Σ y₆₄²| ≤ 1.5e-3. Rounding to
    /// nearest is unbiased, so this is noise of about ‖e‖/‖y₆₄‖ / √(values) (at most 3e-4 on these shapes, 32,768
    /// outputs, 9,216 weight gradients); truncating instead shrinks every product by 2·2⁻⁸·ln 2 ≈ 0.54% on average,
    /// a bias near −5.4e-3 that no size of noise hides here (F(4×4)'s error norm alone would: it barely grows).
    func testErrorAgainstExactIsAsPredictedAndUnbiased() throws {
        defer { KernelPath.use(KernelPath.detected) }
        let shapes = [
            ConvolutionShape(batch: 4, inputHeight: 16, inputWidth: 16, inputChannels: 32, outputChannels: 32,
                             kernelSize: 3, padding: 1),
            ConvolutionShape(batch: 6, inputHeight: 15, inputWidth: 15, inputChannels: 33, outputChannels: 24,
                             kernelSize: 3, padding: 1, outputHeight: 14, outputWidth: 14),
        ]
        let paths = [KernelPath.portable] + (KernelPrecision.bf16Supported ? [.avx512] : [])
        for (i, s) in shapes.enumerated() {
            var random = TestRandom(UInt64(800 + i))
            let input = random.array(s.inputCount), weights = random.array(s.weightCount)
            let gradOutput = random.array(s.outputCount)
            let exact: [ConvolutionPass: [Double]] = [
                .forward: Reference.convolutionForwardInDouble(s, input: input, weights: weights),
                .backwardData: Reference.convolutionBackwardDataInDouble(s, gradOutput: gradOutput, weights: weights),
                .backwardWeights: Reference.convolutionBackwardWeightsInDouble(s, input: input, gradOutput: gradOutput),
            ]
            let (x, w, g) = (input.roundedToBFloat16, weights.roundedToBFloat16, gradOutput.roundedToBFloat16)
            let direct: [ConvolutionPass: ConvolutionError] = [
                .forward: ConvolutionError(Reference.convolutionForward(s, input: x, weights: w), reference: exact[.forward]!),
                .backwardData: ConvolutionError(Reference.convolutionBackwardData(s, gradOutput: g, weights: w),
                                                reference: exact[.backwardData]!),
                .backwardWeights: ConvolutionError(Reference.convolutionBackwardWeights(s, input: x, gradOutput: g),
                                                   reference: exact[.backwardWeights]!),
            ]
            for path in paths {
                KernelPath.use(path)
                for algorithm in Self.algorithms {
                    let predicted = BFloat16Winograd.amplification(tile: algorithm.winogradTile!)
                    for (pass, y) in Self.passes(algorithm, s, input: input, weights: weights, gradOutput: gradOutput) {
                        let error = ConvolutionError(y, reference: exact[pass]!)
                        let ratio = error.relative / direct[pass]!.relative / predicted
                        let label = "\(path) \(algorithm) \(pass) shape \(i)"
                        XCTAssert((0.8...1.5).contains(ratio), "\(label): error \(error.relative) is \(ratio)× the predicted")
                        XCTAssertLessThanOrEqual(abs(error.bias), 1.5e-3, "\(label): biased rounding")
                    }
                }
            }
        }
    }
}
