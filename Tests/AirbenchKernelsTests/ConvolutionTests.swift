import AirbenchKernels
import AirbenchTestSupport
import XCTest

final class ConvolutionTests: XCTestCase {
    /// Shapes covering the network's cases: 3×3 'same', 2×2 valid with 3 input channels, cropped outputs
    /// (the part a floor max-pool reads), channel counts that are not multiples of the 6×16 tile.
    static let shapes: [ConvolutionShape] = [
        ConvolutionShape(batch: 2, inputHeight: 7, inputWidth: 7, inputChannels: 5, outputChannels: 7, kernelSize: 3, padding: 1),
        ConvolutionShape(batch: 3, inputHeight: 9, inputWidth: 9, inputChannels: 3, outputChannels: 24, kernelSize: 2, padding: 0),
        ConvolutionShape(batch: 2, inputHeight: 7, inputWidth: 7, inputChannels: 24, outputChannels: 33, kernelSize: 3, padding: 1,
                         outputHeight: 6, outputWidth: 6),
        ConvolutionShape(batch: 1, inputHeight: 3, inputWidth: 3, inputChannels: 40, outputChannels: 32, kernelSize: 3, padding: 1),
        ConvolutionShape(batch: 2, inputHeight: 5, inputWidth: 4, inputChannels: 16, outputChannels: 16, kernelSize: 3, padding: 1),
        // more rows than one 128-row chunk of the weight-gradient reduction (fp32 paths)
        ConvolutionShape(batch: 8, inputHeight: 7, inputWidth: 7, inputChannels: 32, outputChannels: 32, kernelSize: 3, padding: 1,
                         outputHeight: 6, outputWidth: 6),
        // more rows than one 512-row chunk (bf16 path), an odd row count (a last pair with one row) and 17 channels
        ConvolutionShape(batch: 13, inputHeight: 7, inputWidth: 7, inputChannels: 17, outputChannels: 18, kernelSize: 3, padding: 1),
    ]

    /// Further shapes for the fp32 algorithms (the bf16 tests keep `shapes`, their random operands seeded by index).
    static let fp32Shapes: [ConvolutionShape] = shapes + [
        // three tiles of F(6×6) per side, the last overhanging the output by five pixels
        ConvolutionShape(batch: 2, inputHeight: 13, inputWidth: 13, inputChannels: 24, outputChannels: 20, kernelSize: 3, padding: 1),
        // airbench94's 2.conv1 at widths 8/16/16 and batch 8 (the family fixtures'): 200 tiles of F(6×6), several
        // tile groups
        ConvolutionShape(batch: 8, inputHeight: 31, inputWidth: 31, inputChannels: 24, outputChannels: 8, kernelSize: 3, padding: 1,
                         outputHeight: 30, outputWidth: 30),
    ]

    /// Wide enough that F(4×4)'s and F(6×6)'s weight-gradient sums M take 4 MiB or more (4.4 and 7.9 MB), so their
    /// tiles are summed in one segment; every other shape here, and F(2×2) on this one, sums them in two. (Only the
    /// weight gradient is checked on it: the forward tolerances were derived for reductions of ≤ 64 channels.)
    static let wideShape = ConvolutionShape(batch: 1, inputHeight: 6, inputWidth: 6, inputChannels: 192, outputChannels: 160,
                                            kernelSize: 3, padding: 1)

    // Direct and F(2×2, 3×3) share one tolerance: F(2×2)'s transforms add and subtract up to 16 terms around the
    // GEMM and round differently (up to 4e-6 here, against 1e-6 failing). F(4×4, 3×3)'s transforms also scale by
    // up to 5 (Bᵀ), ⅙ and 1⁄24 (G) and 8 (Aᵀ), and sum 36 terms, so they round about 20× more (up to 8e-5 here);
    // its tolerance is 3× that. F(6×6, 3×3)'s scale by up to 21⁄4 (Bᵀ), 2⁄9 … 1⁄90 (G) and 32 (Aᵀ) over 64 terms: up to
    // 1.5e-4 here, tolerance 5e-4. A wrong tap, transform or coefficient is off by far more (a coefficient of Bᵀ
    // 0.25% off fails it).
    static func tolerance(_ algorithm: ConvolutionAlgorithm, forPass run: ConvolutionShape, _ pass: ConvolutionPass) -> Float {
        switch algorithm.effective(forPass: run, pass) {
        case .winograd6x6: 5e-4
        case .winograd4x4: 2.5e-4
        default: 1e-5
        }
    }

    func testForwardMatchesReference() {
        forEachKernelPath { path in
            for algorithm in ConvolutionAlgorithm.fp32 {
                for (i, s) in Self.fp32Shapes.enumerated() {
                    var random = TestRandom(UInt64(i))
                    let input = random.array(s.inputCount), weights = random.array(s.weightCount)
                    let expected = Reference.convolutionForward(s, input: input, weights: weights)
                    let output = FloatBuffer(count: s.outputCount, repeating: .nan)
                    weights.withUnsafeBufferPointer { w in
                        let packed = PackedWeights.forward(w.baseAddress!, shape: s, algorithm: algorithm)
                        let planned = algorithm == .auto
                            ? ConvolutionAlgorithm.preferred(forPass: s, .forward, precision: .active) : algorithm
                        XCTAssertEqual(packed.algorithm, s.kernelSize == 3 ? planned : .direct)
                        Convolution.forward(s, input: input, weights: packed, output: output.pointer)
                    }
                    let tolerance = Self.tolerance(algorithm, forPass: s, .forward)
                    assertClose(output.array, expected, absolute: tolerance, relative: tolerance,
                                "\(path) \(algorithm) shape \(i)")
                }
            }
        }
    }

    /// Packing into a reused buffer (what a training step does with the last step's) gives exactly a fresh pack's
    /// contents whatever the buffer held: every algorithm and both packed passes write every element, padding
    /// included. The reused buffer starts as NaNs, so an element a packer skips shows.
    func testPackingIntoAReusedBufferOverwritesAllOfIt() {
        let algorithms = ConvolutionAlgorithm.fp32 + (KernelPrecision.bf16Supported ? [.winogradBF16, .winograd4x4BF16] : [])
        for algorithm in algorithms {
            for (i, s) in Self.fp32Shapes.enumerated() {
                var random = TestRandom(UInt64(i))
                let weights = random.array(s.weightCount)
                weights.withUnsafeBufferPointer { w in
                    for pass in [ConvolutionPass.forward, .backwardData] {
                        func pack(_ reusing: FloatBuffer?) -> PackedWeights {
                            pass == .forward
                                ? PackedWeights.forward(w.baseAddress!, shape: s, algorithm: algorithm, reusing: reusing)
                                : PackedWeights.backwardData(w.baseAddress!, shape: s, algorithm: algorithm, reusing: reusing)
                        }
                        let fresh = pack(nil), stale = FloatBuffer(count: fresh.buffer.count, repeating: .nan)
                        let reused = pack(stale)
                        XCTAssertTrue(reused.buffer === stale, "\(algorithm) shape \(i) \(pass): the buffer was not reused")
                        XCTAssertEqual(reused.buffer.array.map(\.bitPattern), fresh.buffer.array.map(\.bitPattern),
                                       "\(algorithm) shape \(i) \(pass)")
                        let small = FloatBuffer(count: fresh.buffer.count - 1)
                        XCTAssertFalse(pack(small).buffer === small, "a buffer of another size is not reused")
                    }
                }
            }
        }
    }

    /// The fused conv + 2×2 max-pool equals the convolution followed by `MaxPool.forward`, values and window indices
    /// bit for bit, for every algorithm (Winograds pool inside the kernel, direct through the scratch), on outputs
    /// cropped to even sides (the network's), odd sides (a row and column the floor drops) and tiles overhanging the
    /// output. Inputs are rounded to multiples of ¼ so that windows hold ties, where the first maximum must win.
    func testPooledForwardEqualsForwardThenPool() {
        let shapes = [
            ConvolutionShape(batch: 2, inputHeight: 11, inputWidth: 11, inputChannels: 9, outputChannels: 20, kernelSize: 3,
                             padding: 1, outputHeight: 10, outputWidth: 10),
            ConvolutionShape(batch: 3, inputHeight: 7, inputWidth: 7, inputChannels: 16, outputChannels: 33, kernelSize: 3, padding: 1),
            ConvolutionShape(batch: 1, inputHeight: 6, inputWidth: 9, inputChannels: 8, outputChannels: 16, kernelSize: 3, padding: 1),
        ]
        forEachKernelPath { path in
            for algorithm in ConvolutionAlgorithm.fp32 + [.winogradBF16, .winograd4x4BF16] {
                for (i, s) in shapes.enumerated() {
                    var random = TestRandom(UInt64(300 + i))
                    let input = random.array(s.inputCount).map { ($0 * 4).rounded() / 4 }
                    let weights = random.array(s.weightCount).map { ($0 * 4).rounded() / 4 }
                    let pooledCount = s.batch * (s.outputHeight / 2) * (s.outputWidth / 2) * s.outputChannels
                    let output = FloatBuffer(count: s.outputCount, repeating: .nan)
                    let expected = FloatBuffer(count: pooledCount, repeating: .nan), pooled = FloatBuffer(count: pooledCount, repeating: .nan)
                    let expectedIndex = Buffer<UInt8>(count: pooledCount, repeating: 9), index = Buffer<UInt8>(count: pooledCount, repeating: 9)
                    weights.withUnsafeBufferPointer { w in
                        let packed = PackedWeights.forward(w.baseAddress!, shape: s, algorithm: algorithm)
                        Convolution.forward(s, input: input, weights: packed, output: output.pointer)
                        MaxPool.forward(output.pointer, batch: s.batch, height: s.outputHeight, width: s.outputWidth,
                                        channels: s.outputChannels, kernel: 2, output: expected.pointer, argmax: expectedIndex.pointer)
                        let scratch = FloatBuffer(count: s.outputCount, repeating: .nan)
                        Convolution.forwardPooled(s, input: input, weights: packed, scratch: scratch.pointer,
                                                  pooled: pooled.pointer, argmax: index.pointer)
                    }
                    let message = "\(path) \(algorithm) shape \(i)"
                    let values = zip(pooled.array, expected.array).filter { $0.bitPattern != $1.bitPattern }.count
                    let indices = zip(index.array, expectedIndex.array).filter { $0 != $1 }.count
                    XCTAssertEqual(values, 0, "\(message): pooled values that differ")
                    XCTAssertEqual(indices, 0, "\(message): window indices that differ")
                    XCTAssertTrue(expectedIndex.array.contains(3) && expectedIndex.array.contains(0), message)
                }
            }
        }
    }

    func testBackwardDataMatchesReference() {
        forEachKernelPath { path in
            for algorithm in ConvolutionAlgorithm.fp32 {
                for (i, s) in Self.fp32Shapes.enumerated() {
                    var random = TestRandom(UInt64(100 + i))
                    let gradOutput = random.array(s.outputCount), weights = random.array(s.weightCount)
                    let expected = Reference.convolutionBackwardData(s, gradOutput: gradOutput, weights: weights)
                    let gradInput = FloatBuffer(count: s.inputCount, repeating: .nan)
                    weights.withUnsafeBufferPointer { w in
                        let packed = PackedWeights.backwardData(w.baseAddress!, shape: s, algorithm: algorithm)
                        Convolution.backwardData(s, gradOutput: gradOutput, weights: packed, gradInput: gradInput.pointer)
                    }
                    let tolerance = Self.tolerance(algorithm, forPass: s.backwardDataShape, .backwardData)
                    assertClose(gradInput.array, expected, absolute: tolerance, relative: tolerance,
                                "\(path) \(algorithm) shape \(i)")
                }
            }
        }
    }

    // A weight gradient is a sum over every output pixel of the batch, so its rounding error scales with the sum of
    // the magnitudes of its terms, Σ|in|·|dOut|, not with the (often much smaller) result: the tolerance is a
    // fraction of that sum. Observed: direct 2e-7 (the fp32 epsilon is 6e-8); Winograd's F(3×3, 2×2) 1.5e-6 and
    // F(3×3, 4×4) 2.7e-6, whose transforms scale by up to 8 (A) and 5 (Bᵀ) before the products and by ⅙, 1⁄24
    // (Gᵀ) after; F(3×3, 6×6) 9.7e-6 (A up to 32, Bᵀ 21⁄4, Gᵀ down to 1⁄90). Each tolerance is about 4× its
    // observation; a coefficient of A or Gᵀ 0.25% off fails it.
    static func weightsTolerance(_ algorithm: ConvolutionAlgorithm, forPass s: ConvolutionShape) -> Float {
        switch algorithm.effective(forPass: s, .backwardWeights) {
        case .winograd6x6: 4e-5
        case .winograd4x4: 1e-5
        case .winograd: 5e-6
        default: 1e-6
        }
    }

    func testBackwardWeightsMatchesReference() {
        forEachKernelPath { path in
            for algorithm in ConvolutionAlgorithm.fp32 {
                for (i, s) in (Self.fp32Shapes + [Self.wideShape]).enumerated() {
                    var random = TestRandom(UInt64(200 + i))
                    let input = random.array(s.inputCount), gradOutput = random.array(s.outputCount)
                    let expected = Reference.convolutionBackwardWeights(s, input: input, gradOutput: gradOutput)
                    let magnitude = Reference.convolutionBackwardWeights(s, input: input.map(abs),
                                                                         gradOutput: gradOutput.map(abs))
                    let grad = FloatBuffer(count: s.weightCount, repeating: .nan)
                    Convolution.backwardWeights(s, input: input, gradOutput: gradOutput, gradWeights: grad.pointer,
                                                algorithm: algorithm)
                    let tolerance = Self.weightsTolerance(algorithm, forPass: s)
                    let got = grad.array
                    XCTAssert(got.allSatisfy(\.isFinite), "\(path) \(algorithm) shape \(i): not finite")
                    let ratios: [Float] = (0..<got.count).map { abs(got[$0] - expected[$0]) / magnitude[$0] }
                    let worst = ratios.indices.max { ratios[$0] < ratios[$1] }!
                    XCTAssertLessThanOrEqual(abs(got[worst] - expected[worst]), tolerance * magnitude[worst],
                                             "\(path) \(algorithm) shape \(i): element \(worst): \(got[worst]) vs \(expected[worst])")
                }
            }
        }
    }

    /// The reference backward passes are the true gradients of the reference forward pass: central differences
    /// of L = Σ out·R in Double-accumulated forward passes.
    func testReferenceGradientsMatchFiniteDifferences() {
        let s = ConvolutionShape(batch: 2, inputHeight: 5, inputWidth: 5, inputChannels: 3, outputChannels: 4,
                                 kernelSize: 3, padding: 1, outputHeight: 4, outputWidth: 4)
        var random = TestRandom(7)
        let input = random.array(s.inputCount), weights = random.array(s.weightCount), r = random.array(s.outputCount)
        func loss(_ x: [Float], _ w: [Float]) -> Double {
            zip(Reference.convolutionForward(s, input: x, weights: w), r).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        let gradInput = Reference.convolutionBackwardData(s, gradOutput: r, weights: weights)
        let gradWeights = Reference.convolutionBackwardWeights(s, input: input, gradOutput: r)
        let h: Float = 1e-2
        for i in stride(from: 0, to: input.count, by: 7) {
            var plus = input, minus = input
            plus[i] += h; minus[i] -= h
            let numeric = (loss(plus, weights) - loss(minus, weights)) / Double(2 * h)
            XCTAssertEqual(Double(gradInput[i]), numeric, accuracy: 2e-3, "input \(i)")
        }
        for i in stride(from: 0, to: weights.count, by: 5) {
            var plus = weights, minus = weights
            plus[i] += h; minus[i] -= h
            let numeric = (loss(input, plus) - loss(input, minus)) / Double(2 * h)
            XCTAssertEqual(Double(gradWeights[i]), numeric, accuracy: 2e-3, "weight \(i)")
        }
    }

    /// Same inputs, 1, 2, 3 and 5 threads: bitwise identical results in all three passes, for every algorithm (the bf16
    /// Winograds on the active path: AVX512_BF16 where the CPU has it, else plain C). 48 output channels are 3 panels:
    /// 3 and 5 threads split the Winograd weight gradient's rows of positions between them.
    func testResultsDoNotDependOnThreadCount() {
        for s in [ConvolutionShape(batch: 4, inputHeight: 15, inputWidth: 15, inputChannels: 32, outputChannels: 48,
                                   kernelSize: 3, padding: 1, outputHeight: 14, outputWidth: 14), Self.wideShape] {
            resultsDoNotDependOnThreadCount(s)
        }
    }

    func resultsDoNotDependOnThreadCount(_ s: ConvolutionShape) {
        var random = TestRandom(11)
        let input = random.array(s.inputCount), weights = random.array(s.weightCount), g = random.array(s.outputCount)
        func run(_ algorithm: ConvolutionAlgorithm) -> [[Float]] {
            let passes = Convolution.allPasses(s, input: input, weights: weights, gradOutput: g, algorithm: algorithm)
            return [passes.output, passes.gradInput, passes.gradWeights]
        }
        let before = KernelThreads.count
        defer { KernelThreads.use(before) }
        for algorithm in ConvolutionAlgorithm.allCases {
            KernelThreads.use(1)
            let one = run(algorithm)
            KernelThreads.use(2)
            let two = run(algorithm)
            KernelThreads.use(3)
            let three = run(algorithm)
            KernelThreads.use(5)
            let five = run(algorithm)
            XCTAssertEqual(one, two, "\(algorithm)")
            XCTAssertEqual(one, three, "\(algorithm)")
            XCTAssertEqual(one, five, "\(algorithm)")
        }
    }
}

/// `ConvolutionCost`, counted by hand for one pass of each kind.
final class ConvolutionCostTests: XCTestCase {
    /// 2 images of 8×8 × 16 channels to 8×8 × 32 (3×3, padding 1).
    let shape = ConvolutionShape(batch: 2, inputHeight: 8, inputWidth: 8, inputChannels: 16, outputChannels: 32,
                                 kernelSize: 3, padding: 1)

    func testDirectPerformsTheDirectFLOPs() {
        let cost = ConvolutionCost.of(.forward, shape, algorithm: .direct, precision: .fp32)
        XCTAssertEqual(cost.flops, Double(2 * 2 * 64 * 32 * 16 * 9))
        XCTAssertEqual(cost.transformFLOPs, 0)
        // input 2·64·16 and output 2·64·32 floats; the fp32 weights read, their packed copy written and read
        XCTAssertEqual(cost.bytes, Double(4 * (2048 + 4096) + 4608 * (4 + 2 * 4)))
    }

    func testWinogradCountsItsProductsAndTransforms() {
        // F(4×4): 2 images × 2×2 tiles, 36 products per tile and channel pair; 228 FLOPs per tile and input channel
        // in Bᵀ d B, 130 per tile and output channel in Aᵀ M A.
        let forward = ConvolutionCost.of(.forward, shape, algorithm: .winograd4x4BF16, precision: .bf16)
        XCTAssertEqual(forward.flops - forward.transformFLOPs, Double(2 * 8 * 36 * 16 * 32))
        XCTAssertEqual(forward.transformFLOPs, Double(8 * (16 * 228 + 32 * 130)))
        XCTAssertEqual(forward.bytes, Double(4 * (2048 + 4096) + 4 * 4608 + 2 * 36 * 512 * 2))
        // Pooled: a quarter of the outputs, 4 bytes and a 1-byte index each, instead of the output.
        let pooled = ConvolutionCost.of(.forward, shape, algorithm: .winograd4x4BF16, precision: .bf16, pooled: true)
        XCTAssertEqual(forward.bytes - pooled.bytes, Double(4 * 4096 - 5 * 1024))
        // F(2×2) backward-weights: 2 × 4×4 tiles; A dY Aᵀ costs 18 FLOPs per tile and output channel.
        let weights = ConvolutionCost.of(.backwardWeights, shape, algorithm: .winograd, precision: .fp32)
        XCTAssertEqual(weights.transformFLOPs, Double(32 * (16 * 32 + 32 * 18)))
        XCTAssertEqual(weights.flops - weights.transformFLOPs, Double(2 * 32 * 16 * 16 * 32))
        // F(6×6): 2 images × 2×2 tiles (8×8 outputs, overhanging), 64 products per tile and channel pair; Bᵀ d B 16
        // rows of input_rows_6's 38 FLOPs, Aᵀ M A 8 + 6 rows of 30, A dY Aᵀ 6 + 8 rows of grad_rows_6's 28.
        let six = ConvolutionCost.of(.forward, shape, algorithm: .winograd6x6, precision: .fp32)
        XCTAssertEqual(six.flops - six.transformFLOPs, Double(2 * 8 * 64 * 16 * 32))
        XCTAssertEqual(six.transformFLOPs, Double(8 * (16 * 608 + 32 * 420)))
        let sixWeights = ConvolutionCost.of(.backwardWeights, shape, algorithm: .winograd6x6, precision: .fp32)
        XCTAssertEqual(sixWeights.transformFLOPs, Double(8 * (16 * 608 + 32 * 392)))
        // Backward-data runs on the transposed shape: 32 channels in, 16 out.
        let data = ConvolutionCost.of(.backwardData, shape, algorithm: .winograd, precision: .fp32)
        XCTAssertEqual(data.transformFLOPs, Double(32 * (32 * 32 + 16 * 24)))
    }
}
