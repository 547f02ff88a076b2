import Airbench
import AirbenchData
import AirbenchKernels
import AirbenchTestSupport
import XCTest

/// The per-layer choice of convolution algorithm (`--convolution auto`, the default): which passes it gives
/// Winograd, that it depends on shapes and precision only, and that the packed weights follow it.
final class ConvolutionPlanTests: XCTestCase {
    override func tearDown() { KernelPrecision.use(.fastest) }

    func plan(_ algorithm: ConvolutionAlgorithm, widths: Widths = Widths()) -> ConvolutionPlan {
        let network = Network(widths: widths)
        network.convolutionAlgorithm = algorithm
        return network.convolutionPlan
    }

    /// The plan the rule of `ConvolutionAlgorithm.preferred` gives airbench94, as measured fastest per pass and
    /// listed in BENCHMARKS.md ("Winograd F(4×4, 3×3)", "Winograd weight gradient", "Winograd F(6×6, 3×3)"): in fp32
    /// F(4×4) everywhere but the forward and backward-weights passes of 2.conv1 (30×30 outputs: 25 tiles of F(6×6)
    /// against 64 of F(4×4)) and 4.conv1 (6×6: one tile of 64 products against 144), which run F(6×6).
    func testAirbench94InFP32() {
        KernelPrecision.use(.fp32)
        let layers = plan(.auto).layers
        XCTAssertEqual(layers.map(\.layer), ["0", "2.conv1", "2.conv2", "3.conv1", "3.conv2", "4.conv1", "4.conv2"])
        XCTAssertEqual(layers.map(\.forward), [.direct, .winograd6x6, .winograd4x4, .winograd4x4, .winograd4x4, .winograd6x6, .winograd4x4])
        XCTAssertEqual(layers.map(\.backwardData), [.direct, .winograd4x4, .winograd4x4, .winograd4x4, .winograd4x4, .winograd4x4, .winograd4x4])
        XCTAssertEqual(layers.map(\.backwardWeights), [.direct, .winograd6x6, .winograd4x4, .winograd4x4, .winograd4x4, .winograd6x6, .winograd4x4])
        XCTAssertEqual(plan(.auto).description,
                       "winograd6x6: 2.conv1 forward and backward-weights, 4.conv1 forward and backward-weights; winograd4x4: 2.conv1 backward-data, 2.conv2, 3.conv1, 3.conv2, 4.conv1 backward-data, 4.conv2; direct elsewhere")
    }

    /// In bf16 (the bf16 Winograds admitted on every measured airbench94 pass, BFloat16Winograd.measured):
    /// bf16-F(4×4) everywhere but 4.conv1's forward and backward-weights, whose 6×6 output F(2×2)'s nine tiles cover
    /// with as many products (the tie goes to the smaller tile); the whitening layer (2×2, 3 channels) stays direct.
    func testAirbench94InBFloat16() throws {
        guard KernelPrecision.use(.bf16) == .bf16 else { throw XCTSkip("this CPU has no bf16 path") }
        let layers = plan(.auto).layers
        XCTAssertEqual(layers.map(\.forward), [.direct, .winograd4x4BF16, .winograd4x4BF16, .winograd4x4BF16, .winograd4x4BF16, .winogradBF16, .winograd4x4BF16])
        XCTAssertEqual(layers.map(\.backwardData), [.direct, .winograd4x4BF16, .winograd4x4BF16, .winograd4x4BF16, .winograd4x4BF16, .winograd4x4BF16, .winograd4x4BF16])
        XCTAssertEqual(layers.map(\.backwardWeights), [.direct, .winograd4x4BF16, .winograd4x4BF16, .winograd4x4BF16, .winograd4x4BF16, .winogradBF16, .winograd4x4BF16])
        XCTAssertEqual(plan(.auto).description,
                       "winograd4x4-bf16: 2.conv1, 2.conv2, 3.conv1, 3.conv2, 4.conv1 backward-data, 4.conv2; winograd-bf16: 4.conv1 forward and backward-weights; direct elsewhere")
    }

    /// Layers not measured (other widths) get no bf16 Winograd: in bf16 a fp32 Winograd must need at most ⅓ of
    /// direct's multiply-adds, so at widths 16/32/32 4.conv1's forward and backward-weights (6×6: ⁴⁄₉) and 4.conv2
    /// (3×3) stay bf16-direct and the rest runs fp32 F(4×4).
    func testUnmeasuredLayersInBFloat16() throws {
        guard KernelPrecision.use(.bf16) == .bf16 else { throw XCTSkip("this CPU has no bf16 path") }
        let layers = plan(.auto, widths: Widths(block1: 16, block2: 32, block3: 32)).layers
        XCTAssertEqual(layers.map(\.forward), [.direct, .winograd4x4, .winograd4x4, .winograd4x4, .winograd4x4, .direct, .direct])
        XCTAssertEqual(layers.map(\.backwardData), [.direct, .winograd4x4, .winograd4x4, .winograd4x4, .winograd4x4, .winograd4x4, .direct])
    }

    /// The bound applied to the measurements: a bf16 Winograd is admissible for a pass exactly when each of its
    /// measured errors (after 50 and after 200 steps) is at most `errorBound` times bf16-direct's; a pass not measured
    /// admits none.
    func testAdmissibleIsTheBoundOnTheMeasuredErrors() {
        XCTAssertEqual(BFloat16Winograd.measured.count, 36)
        for m in BFloat16Winograd.measured {
            let all = BFloat16Winograd.measured.filter { $0.pass == m.pass && $0.run == m.run }
            XCTAssertEqual(all.map(\.steps), [50, 200], "\(m.layer) \(m.pass)")
            for algorithm in [ConvolutionAlgorithm.winogradBF16, .winograd4x4BF16] {
                XCTAssertEqual(BFloat16Winograd.admissible(algorithm, forPass: m.run, m.pass),
                               all.allSatisfy { $0.error(algorithm)! <= BFloat16Winograd.errorBound * $0.direct },
                               "\(m.layer) \(m.pass) \(algorithm)")
            }
            XCTAssertFalse(BFloat16Winograd.admissible(.direct, forPass: m.run, m.pass))
            var other = m.run
            other.inputChannels += 1
            XCTAssertFalse(BFloat16Winograd.admissible(.winogradBF16, forPass: other, m.pass))
        }
        // The batch does not matter.
        let first = BFloat16Winograd.measured[0]
        var batch = first.run
        batch.batch = 1024
        XCTAssertTrue(BFloat16Winograd.admissible(.winogradBF16, forPass: batch, first.pass))
    }

    /// The memory-bound passes of a step: a separate max-pool (21 bytes per pooled element: 16 read, 4 written, a
    /// 1-byte index) only where conv1's forward pass is not a fused Winograd, two BatchNorm passes per conv forward
    /// and two backward (norm1's second fused into the max-pool backward), the whitening's bias + GELU and its
    /// backward.
    func testMemoryPassesFollowTheFusion() {
        KernelPrecision.use(.fp32)
        let network = Network(widths: Widths())
        let elements: [Int] = [64 * 15 * 15, 256 * 7 * 7, 256 * 3 * 3]
        let pooled: [Double] = elements.map { Double(2 * $0) }  // batch 2
        func pools(_ passes: [MemoryPass]) -> [Double] { passes.filter { $0.name == "max-pool" }.map(\.bytes) }
        XCTAssertEqual(pools(network.memoryPasses(batch: 2)), [])
        XCTAssertEqual(pools(network.memoryPasses(batch: 2, fused: false)), pooled.map { 21 * $0 })
        // Backward, norm1's input gradient rides on the max-pool's (25 bytes per pooled element: dz and x read, the
        // index, 16 written) unless unfused (its own 12-byte pass, then the pool's 21).
        func backward(_ passes: [MemoryPass]) -> [Double] {
            passes.filter { $0.name.hasSuffix("max-pool backward") }.map(\.bytes)
        }
        XCTAssertEqual(backward(network.memoryPasses(batch: 2)), pooled.reversed().map { 25 * $0 })
        XCTAssertEqual(backward(network.memoryPasses(batch: 2, fused: false)), pooled.reversed().map { 21 * $0 })
        network.convolutionAlgorithm = .direct
        XCTAssertEqual(pools(network.memoryPasses(batch: 2)), pooled.map { 21 * $0 })
        // Two convs' two forward and two backward norm passes, the pool's backward, less norm1's input gradient.
        let perBlock = 2 * 4 + 1 - 1
        XCTAssertEqual(network.memoryPasses(batch: 2).count, 3 * perBlock + 3 + 2)
        XCTAssertEqual(network.memoryPasses(batch: 2, fused: false).count, 3 * (perBlock + 2) + 2)
        XCTAssertEqual(network.memoryPasses(batch: 2).filter { $0.name == "statistics" }.map(\.bytes),
                       pooled.flatMap { [4 * $0, 4 * $0] })
    }

    /// The multiply-adds the rule compares, counted by hand per image, input and output channel.
    func testMultiplyAddCounts() {
        func pass(_ size: Int, channels: Int = 64) -> ConvolutionShape {
            ConvolutionShape(batch: 1, inputHeight: size, inputWidth: size, inputChannels: channels, outputChannels: 64,
                             kernelSize: 3, padding: 1)
        }
        // 6×6: 36·9 direct; 3×3 tiles of 16, 2×2 tiles of 36 or one of 64. 3×3: 81; 2×2 tiles of 16 or one of 36
        // or 64. 15×15: 8×8 tiles of 16, 4×4 of 36, 3×3 of 64 (F(4×4) and F(6×6) tie).
        let algorithms: [ConvolutionAlgorithm] = [.direct, .winograd, .winograd4x4, .winograd6x6]
        XCTAssertEqual(algorithms.map { ConvolutionAlgorithm.multiplyAdds(forPass: pass(6), $0) }, [324, 144, 144, 64])
        XCTAssertEqual(algorithms.map { ConvolutionAlgorithm.multiplyAdds(forPass: pass(3), $0) }, [81, 64, 36, 64])
        XCTAssertEqual(algorithms.map { ConvolutionAlgorithm.multiplyAdds(forPass: pass(15), $0) }, [2025, 1024, 576, 576])
        XCTAssertEqual(ConvolutionAlgorithm.preferred(forPass: pass(6), .forward, precision: .fp32), .winograd6x6)
        XCTAssertEqual(ConvolutionAlgorithm.preferred(forPass: pass(15), .forward, precision: .fp32), .winograd4x4)  // the tie
        // In bf16 F(6×6) would need 64 ≤ ⅓·324 of direct's products and win; it is not a candidate there.
        XCTAssertEqual(ConvolutionAlgorithm.preferred(forPass: pass(6), .forward, precision: .bf16), .direct)
        XCTAssertEqual(ConvolutionAlgorithm.preferred(forPass: pass(3), .forward, precision: .fp32), .winograd4x4)  // 36 ≤ ⅔·81
        XCTAssertEqual(ConvolutionAlgorithm.preferred(forPass: pass(3), .forward, precision: .bf16), .direct)  // 36 > ⅓·81
        XCTAssertEqual(ConvolutionAlgorithm.preferred(forPass: pass(1), .forward, precision: .fp32), .direct)  // 9 < 16
        XCTAssertEqual(ConvolutionAlgorithm.preferred(forPass: pass(16, channels: 7), .forward, precision: .fp32), .direct)
        XCTAssertEqual(ConvolutionAlgorithm.preferred(forPass: pass(16, channels: 8), .forward, precision: .fp32), .winograd4x4)
    }

    /// The forced algorithms stay uniform; the whitening convolution (2×2) is direct in every plan.
    func testForcedAlgorithmsAreUniform() {
        KernelPrecision.use(.fp32)
        XCTAssertEqual(plan(.direct).description, "direct")
        for algorithm in [ConvolutionAlgorithm.winograd, .winograd4x4, .winograd6x6] {
            let layers = plan(algorithm).layers
            XCTAssertEqual(layers.first?.forward, .direct)
            XCTAssertEqual(layers.first?.backwardWeights, .direct)
            XCTAssertTrue(layers.dropFirst().allSatisfy { $0.passes(running: algorithm).count == 3 })
        }
        XCTAssertTrue(plan(.auto).layers.allSatisfy { $0.passes(running: .auto).isEmpty })
    }

    /// The rule reads channels and sizes, never the batch: training (batch 1,024) and evaluation (500) agree.
    func testThePlanDoesNotDependOnTheBatch() {
        KernelPrecision.use(.fp32)
        let network = Network(widths: Widths())
        for batch in [1, 7, 500, 1024] {
            for (_, shape) in network.convolutionShapes(batch: batch) {
                var one = shape
                one.batch = 1
                XCTAssertEqual(ConvolutionAlgorithm.auto.effective(forPass: shape, .forward),
                               ConvolutionAlgorithm.auto.effective(forPass: one, .forward))
                XCTAssertEqual(ConvolutionAlgorithm.auto.effective(forPass: shape.backwardDataShape, .backwardData),
                               ConvolutionAlgorithm.auto.effective(forPass: one.backwardDataShape, .backwardData))
            }
        }
    }

    /// Weights packed under `auto` run the planned algorithm, and so does backward-weights under `auto`: the same
    /// bits as forcing it, and bits that differ from each of the other algorithms.
    func testAutoPacksThePlannedAlgorithm() {
        KernelPrecision.use(.fp32)
        // 4.conv1 of airbench94 at batch 2 (forward and backward-weights: F(6×6) on the 6×6 its max-pool reads;
        // backward-data: F(4×4) over the full 7×7) and a layer reading 4 channels (direct in every pass).
        let conv1 = ConvolutionShape(batch: 2, inputHeight: 7, inputWidth: 7, inputChannels: 256, outputChannels: 256,
                                     kernelSize: 3, padding: 1, outputHeight: 6, outputWidth: 6)
        let narrow = ConvolutionShape(batch: 2, inputHeight: 9, inputWidth: 9, inputChannels: 4, outputChannels: 4,
                                      kernelSize: 3, padding: 1)
        var generator = SeededGenerator(seed: 3)
        for (shape, forward, backwardData, backwardWeights) in [
            (conv1, ConvolutionAlgorithm.winograd6x6, ConvolutionAlgorithm.winograd4x4, ConvolutionAlgorithm.winograd6x6),
            (narrow, .direct, .direct, .direct),
        ] {
            let weights = FloatBuffer(count: shape.weightCount)
            for i in 0..<shape.weightCount { weights.pointer[i] = generator.uniformFloat() - 0.5 }
            let input = FloatBuffer(count: shape.inputCount), gradOutput = FloatBuffer(count: shape.outputCount)
            for i in 0..<shape.inputCount { input.pointer[i] = generator.uniformFloat() - 0.5 }
            for i in 0..<shape.outputCount { gradOutput.pointer[i] = generator.uniformFloat() - 0.5 }
            func forwardBits(_ algorithm: ConvolutionAlgorithm) -> [Float] {
                let packed = PackedWeights.forward(weights.pointer, shape: shape, algorithm: algorithm)
                let output = FloatBuffer(count: shape.outputCount)
                Convolution.forward(shape, input: input.pointer, weights: packed, output: output.pointer)
                return output.array
            }
            func backwardBits(_ algorithm: ConvolutionAlgorithm) -> [Float] {
                let packed = PackedWeights.backwardData(weights.pointer, shape: shape, algorithm: algorithm)
                let gradInput = FloatBuffer(count: shape.inputCount)
                Convolution.backwardData(shape, gradOutput: gradOutput.pointer, weights: packed, gradInput: gradInput.pointer)
                return gradInput.array
            }
            func weightsBits(_ algorithm: ConvolutionAlgorithm) -> [Float] {
                let gradWeights = FloatBuffer(count: shape.weightCount)
                Convolution.backwardWeights(shape, input: input.pointer, gradOutput: gradOutput.pointer,
                                            gradWeights: gradWeights.pointer, algorithm: algorithm)
                return gradWeights.array
            }
            XCTAssertEqual(PackedWeights.forward(weights.pointer, shape: shape, algorithm: .auto).algorithm, forward)
            XCTAssertEqual(PackedWeights.backwardData(weights.pointer, shape: shape, algorithm: .auto).algorithm, backwardData)
            XCTAssertEqual(forwardBits(.auto), forwardBits(forward))
            XCTAssertEqual(backwardBits(.auto), backwardBits(backwardData))
            XCTAssertEqual(weightsBits(.auto), weightsBits(backwardWeights))
            for other in [ConvolutionAlgorithm.direct, .winograd, .winograd4x4, .winograd6x6] {
                if other != forward { XCTAssertNotEqual(forwardBits(.auto), forwardBits(other), "\(other)") }
                if other != backwardData { XCTAssertNotEqual(backwardBits(.auto), backwardBits(other), "\(other)") }
                if other != backwardWeights { XCTAssertNotEqual(weightsBits(.auto), weightsBits(other), "\(other)") }
            }
        }
    }
}
