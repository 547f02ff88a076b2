import AirbenchKernels
import XCTest
import _AirbenchSIMD

/// The Winograd weight gradient's threads take units of M from a thread that is behind (conv_winograd_weights.c,
/// "claims"). Whichever thread adds which chunk of tiles, each sum must stay one chain over the tiles in ascending
/// order: the result bit for bit the one-thread result.
final class WeightGradientTakeoverTests: XCTestCase {
    /// 48 images of 32×32, 32 → 48 channels: 3,072 tiles of F(4×4) (12,288 of F(2×2), 1,728 of F(6×6)) in chunks of
    /// 146–1,024, so 2 segments of 3 or more chunks each on every path and precision.
    let shape = ConvolutionShape(batch: 48, inputHeight: 32, inputWidth: 32, inputChannels: 32, outputChannels: 48,
                                 kernelSize: 3, padding: 1)

    /// One thread at a time holds back before each chunk it adds until units have been taken: the others must take
    /// some (within a second), and the gradient must not change, at 2 and 3 threads, for each Winograd (fp32 and
    /// bf16).
    func testUnitsTakenFromASlowThreadGiveTheOneThreadBits() {
        var random = TestRandom(5)
        let input = random.array(shape.inputCount), gradOutput = random.array(shape.outputCount)
        func gradient(_ algorithm: ConvolutionAlgorithm) -> [Float] {
            let result = FloatBuffer(count: shape.weightCount, repeating: .nan)
            Convolution.backwardWeights(shape, input: input, gradOutput: gradOutput, gradWeights: result.pointer,
                                        algorithm: algorithm)
            return result.array
        }
        let before = KernelThreads.count
        defer {
            ab_winograd_weights_slow_thread(-1)
            KernelThreads.use(before)
        }
        for algorithm in ConvolutionAlgorithm.allCases where algorithm.winogradTile != nil {
            KernelThreads.use(1)
            let one = gradient(algorithm)
            for threads in [2, 3] {
                KernelThreads.use(threads)
                for slow in 0 ..< threads {
                    let takes = ab_winograd_weights_takes()
                    ab_winograd_weights_slow_thread(Int32(slow))
                    let taken = gradient(algorithm)
                    ab_winograd_weights_slow_thread(-1)
                    XCTAssertGreaterThan(ab_winograd_weights_takes(), takes,
                                         "\(algorithm), \(threads) threads: nothing taken from slow thread \(slow)")
                    XCTAssertEqual(one, taken, "\(algorithm), \(threads) threads, thread \(slow) slow")
                }
            }
        }
    }
}
