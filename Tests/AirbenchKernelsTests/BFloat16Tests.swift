import AirbenchKernels
import AirbenchTestSupport
import XCTest

/// The AVX-512 paths: the fp32 micro-kernel against AVX2 bit for bit, and the bf16 convolutions against the
/// Double reference run on bf16-rounded operands (products of two bf16 are exact in fp32, so only the fp32
/// summation order separates the two: the fp32 tests' tolerance applies).
final class BFloat16Tests: XCTestCase {
    /// Forward, backward-data and backward-weights of every test shape.
    private func allPasses(_ algorithm: ConvolutionAlgorithm = .direct) -> [[Float]] {
        ConvolutionTests.shapes.enumerated().flatMap { i, s -> [[Float]] in
            var random = TestRandom(UInt64(300 + i))
            let input = random.array(s.inputCount), weights = random.array(s.weightCount)
            let gradOutput = random.array(s.outputCount)
            let passes = Convolution.allPasses(s, input: input, weights: weights, gradOutput: gradOutput, algorithm: algorithm)
            return [passes.output, passes.gradInput, passes.gradWeights]
        }
    }

    /// Both fp32 micro-kernels do fma(a_k, b_k, acc) over k ascending: AVX-512 must reproduce AVX2 exactly.
    func testAVX512FP32IsBitwiseAVX2() throws {
        guard KernelPath.detected == .avx512 else { throw XCTSkip("this CPU has no AVX-512") }
        var results = [KernelPath: [[[Float]]]]()
        forEachKernelPath { path in results[path] = ConvolutionAlgorithm.fp32.map { allPasses($0) } }
        XCTAssertEqual(results[.avx2], results[.avx512])
        XCTAssertNotEqual(results[.portable], results[.avx512], "the portable path rounds differently")
    }

    func testForwardMatchesReferenceOnRoundedOperands() throws {
        try onBFloat16Path {
            for (i, s) in ConvolutionTests.shapes.enumerated() {
                var random = TestRandom(UInt64(400 + i))
                let input = random.array(s.inputCount), weights = random.array(s.weightCount)
                let output = FloatBuffer(count: s.outputCount, repeating: .nan)
                weights.withUnsafeBufferPointer { w in
                    let packed = PackedWeights.forward(w.baseAddress!, shape: s, algorithm: .direct)
                    XCTAssertEqual(packed.precision, .bf16)
                    Convolution.forward(s, input: input, weights: packed, output: output.pointer)
                }
                let rounded = Reference.convolutionForward(s, input: input.roundedToBFloat16,
                                                           weights: weights.roundedToBFloat16)
                assertClose(output.array, rounded, absolute: 1e-5, relative: 1e-5, "bf16 forward shape \(i)")
                assertRoundingShows(output.array, Reference.convolutionForward(s, input: input, weights: weights))
            }
        }
    }

    func testBackwardDataMatchesReferenceOnRoundedOperands() throws {
        try onBFloat16Path {
            for (i, s) in ConvolutionTests.shapes.enumerated() {
                var random = TestRandom(UInt64(500 + i))
                let gradOutput = random.array(s.outputCount), weights = random.array(s.weightCount)
                let gradInput = FloatBuffer(count: s.inputCount, repeating: .nan)
                weights.withUnsafeBufferPointer { w in
                    Convolution.backwardData(s, gradOutput: gradOutput,
                                             weights: .backwardData(w.baseAddress!, shape: s, algorithm: .direct), gradInput: gradInput.pointer)
                }
                let rounded = Reference.convolutionBackwardData(s, gradOutput: gradOutput.roundedToBFloat16,
                                                                weights: weights.roundedToBFloat16)
                assertClose(gradInput.array, rounded, absolute: 1e-5, relative: 1e-5, "bf16 backward-data shape \(i)")
                assertRoundingShows(gradInput.array,
                                    Reference.convolutionBackwardData(s, gradOutput: gradOutput, weights: weights))
            }
        }
    }

    func testBackwardWeightsMatchesReferenceOnRoundedOperands() throws {
        try onBFloat16Path {
            for (i, s) in ConvolutionTests.shapes.enumerated() {
                var random = TestRandom(UInt64(600 + i))
                let input = random.array(s.inputCount), gradOutput = random.array(s.outputCount)
                let grad = FloatBuffer(count: s.weightCount, repeating: .nan)
                Convolution.backwardWeights(s, input: input, gradOutput: gradOutput, gradWeights: grad.pointer,
                                            algorithm: .direct)  // the bf16 kernel (a Winograd runs fp32)
                let rounded = Reference.convolutionBackwardWeights(s, input: input.roundedToBFloat16,
                                                                   gradOutput: gradOutput.roundedToBFloat16)
                assertClose(grad.array, rounded, absolute: 1e-5, relative: 1e-5, "bf16 backward-weights shape \(i)")
                assertRoundingShows(grad.array, Reference.convolutionBackwardWeights(s, input: input, gradOutput: gradOutput))
            }
        }
    }

    /// The bf16 result must be off the unrounded reference by about bf16's precision (2⁻⁹ relative per operand),
    /// far beyond the fp32 tolerance: otherwise the kernel did not round, and the tests above prove nothing.
    private func assertRoundingShows(_ actual: [Float], _ unrounded: [Float], file: StaticString = #filePath,
                                     line: UInt = #line) {
        let worst = zip(actual, unrounded).map { abs($0 - $1) }.max() ?? 0
        XCTAssertGreaterThan(worst, 1e-3, "bf16 result equals the fp32 one", file: file, line: line)
        XCTAssertLessThan(worst, 0.1, "bf16 result too far from fp32", file: file, line: line)
    }

    /// The rounding of activations by `vcvtneps2bf16` (in the gather) and of weights by the scalar packer must
    /// agree: a 1×1 convolution with a weight of 1 returns bf16(x) as the hardware rounds it, and one with an
    /// input of 1 returns bf16(w) as the packer rounds it. Values include ties to even, carries into the exponent,
    /// overflow to infinity and negative numbers.
    func testHardwareAndScalarRoundingAgree() throws {
        var values: [Float] = [1, -1, 1 + 0x1p-8, 1 + 3 * 0x1p-8, 1 + 0x1p-9, 1.9999999, -1.0039062, 3.0e38,
                               Float.greatestFiniteMagnitude, -Float.greatestFiniteMagnitude, 1e-30, .infinity, 0, -0.0]
        var random = TestRandom(42)
        for _ in 0..<1000 { values.append(random.uniform() * Float(1 << 20)) }
        for bits in stride(from: UInt32(0x3f80_0000), to: 0x3f81_0000, by: 0x101) { values.append(Float(bitPattern: bits)) }
        try onBFloat16Path {
            let s = ConvolutionShape(batch: 1, inputHeight: 1, inputWidth: values.count, inputChannels: 1,
                                     outputChannels: 1, kernelSize: 1, padding: 0)
            let hardware = FloatBuffer(count: values.count)
            [Float(1)].withUnsafeBufferPointer { one in
                Convolution.forward(s, input: values, weights: .forward(one.baseAddress!, shape: s), output: hardware.pointer)
            }
            let t = ConvolutionShape(batch: 1, inputHeight: 1, inputWidth: 1, inputChannels: 1,
                                     outputChannels: values.count, kernelSize: 1, padding: 0)
            let scalar = FloatBuffer(count: values.count)
            values.withUnsafeBufferPointer { w in
                Convolution.forward(t, input: [1], weights: .forward(w.baseAddress!, shape: t), output: scalar.pointer)
            }
            XCTAssertEqual(hardware.array.map(\.bitPattern), scalar.array.map(\.bitPattern))
            // and both are the bf16 neighbours of x: ties to even, within half a bf16 unit
            XCTAssertEqual(hardware[2], 1)          // 1 + 2⁻⁸ is the tie between 1 and 1 + 2⁻⁷: even is 1
            XCTAssertEqual(hardware[3], 1 + 0x1p-6)  // 1 + 3·2⁻⁸ ties up to the even 1 + 2⁻⁶
            XCTAssertEqual(hardware[5], 2)          // carry into the exponent
            XCTAssertEqual(hardware[8], .infinity)  // past the largest bf16
        }
    }

    /// Same inputs, 1, 2 and 3 threads: bitwise identical bf16 results in all three passes.
    func testBFloat16DoesNotDependOnThreadCount() throws {
        try onBFloat16Path {
            let before = KernelThreads.count
            defer { KernelThreads.use(before) }
            let results = [1, 2, 3].map { threads -> [[Float]] in
                KernelThreads.use(threads)
                return allPasses()
            }
            XCTAssertEqual(results[0], results[1])
            XCTAssertEqual(results[0], results[2])
        }
    }
}
