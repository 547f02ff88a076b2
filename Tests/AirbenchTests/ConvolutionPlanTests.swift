import Airbench
import AirbenchData
import AirbenchKernels
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

    /// The passes the rule of `ConvolutionAlgorithm.preferred` gives Winograd in airbench94, as listed in its doc
    /// comment and in BENCHMARKS.md: the 3×3 passes reading ≥ 32 channels and writing at least 6×6.
    func testAirbench94InFP32RunsWinogradWhereItWasMeasuredFaster() {
        KernelPrecision.use(.fp32)
        let winograd = plan(.auto).layers.flatMap { l in
            [l.forward == .winograd ? "\(l.layer) forward" : nil,
             l.backwardData == .winograd ? "\(l.layer) backward-data" : nil].compactMap { $0 }
        }
        XCTAssertEqual(winograd, ["2.conv1 backward-data", "2.conv2 forward", "2.conv2 backward-data",
                                  "3.conv1 forward", "3.conv1 backward-data", "3.conv2 forward", "3.conv2 backward-data",
                                  "4.conv1 forward", "4.conv1 backward-data"])
        XCTAssertEqual(plan(.auto).description,
                       "winograd: 2.conv1 backward-data, 2.conv2, 3.conv1, 3.conv2, 4.conv1; direct elsewhere")
    }

    func testBFloat16RunsDirectEverywhere() throws {
        guard KernelPrecision.use(.bf16) == .bf16 else { throw XCTSkip("this CPU has no bf16 path") }
        XCTAssertEqual(plan(.auto).description, "direct")
        XCTAssertTrue(plan(.auto).layers.allSatisfy { $0.forward == .direct && $0.backwardData == .direct })
    }

    /// The forced algorithms stay uniform; the whitening convolution (2×2) is direct in every plan.
    func testForcedAlgorithmsAreUniform() {
        KernelPrecision.use(.fp32)
        XCTAssertEqual(plan(.direct).description, "direct")
        let winograd = plan(.winograd).layers
        XCTAssertEqual(winograd.first?.forward, .direct)
        XCTAssertTrue(winograd.dropFirst().allSatisfy { $0.forward == .winograd && $0.backwardData == .winograd })
        XCTAssertTrue(plan(.auto).layers.allSatisfy { $0.forward != .auto && $0.backwardData != .auto })
    }

    /// The rule reads channels and sizes, never the batch: training (batch 1,024) and evaluation (500) agree.
    func testThePlanDoesNotDependOnTheBatch() {
        KernelPrecision.use(.fp32)
        let network = Network(widths: Widths())
        for batch in [1, 7, 500, 1024] {
            for (_, shape) in network.convolutionShapes(batch: batch) {
                var one = shape
                one.batch = 1
                XCTAssertEqual(ConvolutionAlgorithm.auto.effective(forPass: shape),
                               ConvolutionAlgorithm.auto.effective(forPass: one))
                XCTAssertEqual(ConvolutionAlgorithm.auto.effective(forPass: shape.backwardDataShape),
                               ConvolutionAlgorithm.auto.effective(forPass: one.backwardDataShape))
            }
        }
    }

    /// Weights packed under `auto` run the planned algorithm: the same bits as forcing it, and on a layer where
    /// the two algorithms are planned differently, bits that differ from the other one.
    func testAutoPacksThePlannedAlgorithm() {
        KernelPrecision.use(.fp32)
        // 2.conv1 of airbench94 at batch 2 (forward direct, backward-data Winograd) and a 256-channel 7×7 layer
        // (3.conv2: Winograd both ways).
        let conv1 = ConvolutionShape(batch: 2, inputHeight: 31, inputWidth: 31, inputChannels: 24, outputChannels: 64,
                                     kernelSize: 3, padding: 1, outputHeight: 30, outputWidth: 30)
        let conv2 = ConvolutionShape(batch: 2, inputHeight: 7, inputWidth: 7, inputChannels: 256, outputChannels: 256,
                                     kernelSize: 3, padding: 1)
        var generator = SeededGenerator(seed: 3)
        for (shape, forward, backwardData) in [(conv1, ConvolutionAlgorithm.direct, ConvolutionAlgorithm.winograd),
                                               (conv2, .winograd, .winograd)] {
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
            XCTAssertEqual(PackedWeights.forward(weights.pointer, shape: shape, algorithm: .auto).algorithm, forward)
            XCTAssertEqual(PackedWeights.backwardData(weights.pointer, shape: shape, algorithm: .auto).algorithm, backwardData)
            XCTAssertEqual(forwardBits(.auto), forwardBits(forward))
            XCTAssertEqual(backwardBits(.auto), backwardBits(backwardData))
            XCTAssertNotEqual(forwardBits(.auto), forwardBits(forward == .direct ? .winograd : .direct))
            XCTAssertNotEqual(backwardBits(.auto), backwardBits(backwardData == .direct ? .winograd : .direct))
        }
    }
}
