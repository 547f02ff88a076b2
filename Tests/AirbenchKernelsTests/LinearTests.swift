import AirbenchKernels
import AirbenchTestSupport
import XCTest

/// The classifier head against two references: the plain Float loops it replaced (the same sums in the same order,
/// so equal to the bit on every path and thread count) and a Double evaluation (independent of the order).
final class LinearTests: XCTestCase {
    /// (batch, width, classes): airbench94's head at a small batch; a batch that is not a whole number of the
    /// kernel's tasks, a width that is not a whole number of its feature blocks, more classes than one block.
    let shapes = [(48, 256, 10), (37, 72, 20), (5, 130, 100)]

    func testForwardAndBackwardEqualThePlainLoopsBitForBit() {
        let before = KernelThreads.count
        defer { KernelThreads.use(before) }
        for (batch, width, classes) in shapes {
            var random = TestRandom(UInt64(batch * width + classes))
            let features = random.array(batch * width), weight = random.array(classes * width, scale: 0.1)
            let gradLogits = random.array(batch * classes, scale: 0.01), scale: Float = 1 / 9
            let expected = plainLoops(features, weight, gradLogits, batch: batch, width: width, classes: classes, scale: scale)
            forEachKernelPath { path in
                for threads in [1, 2, 3] {
                    KernelThreads.use(threads)
                    let got = kernels(features, weight, gradLogits, batch: batch, width: width, classes: classes, scale: scale)
                    let label = "\(batch)×\(width)→\(classes), \(path), \(threads) threads"
                    XCTAssertEqual(got.logits.map(\.bitPattern), expected.logits.map(\.bitPattern), "logits, \(label)")
                    XCTAssertEqual(got.gradWeight.map(\.bitPattern), expected.gradWeight.map(\.bitPattern), "dW, \(label)")
                    XCTAssertEqual(got.gradFeatures.map(\.bitPattern), expected.gradFeatures.map(\.bitPattern), "dF, \(label)")
                }
            }
        }
    }

    func testForwardAndBackwardMatchDouble() {
        for (batch, width, classes) in shapes {
            var random = TestRandom(UInt64(7 * batch + width))
            let features = random.array(batch * width), weight = random.array(classes * width, scale: 0.1)
            let gradLogits = random.array(batch * classes, scale: 0.01), scale: Float = 0.2
            let got = kernels(features, weight, gradLogits, batch: batch, width: width, classes: classes, scale: scale)
            var logits = [Float](), gradWeight = [Float](), gradFeatures = [Float]()
            for b in 0..<batch {
                for j in 0..<classes {
                    logits.append(Float(Double(scale) * (0..<width).reduce(0.0) {
                        $0 + Double(features[b * width + $1]) * Double(weight[j * width + $1]) }))
                }
            }
            for j in 0..<classes {
                for c in 0..<width {
                    gradWeight.append(Float(Double(scale) * (0..<batch).reduce(0.0) {
                        $0 + Double(gradLogits[$1 * classes + j]) * Double(features[$1 * width + c]) }))
                }
            }
            for b in 0..<batch {
                for c in 0..<width {
                    gradFeatures.append(Float(Double(scale) * (0..<classes).reduce(0.0) {
                        $0 + Double(gradLogits[b * classes + $1]) * Double(weight[$1 * width + c]) }))
                }
            }
            // Float sums of up to 256 terms of magnitude ≤ 1 (·scale): a few units of 1e-5 at most.
            assertClose(got.logits, logits, absolute: 2e-5, "logits")
            assertClose(got.gradWeight, gradWeight, absolute: 2e-6, "dW")
            assertClose(got.gradFeatures, gradFeatures, absolute: 2e-6, "dF")
        }
    }

    private typealias Outputs = (logits: [Float], gradWeight: [Float], gradFeatures: [Float])

    private func kernels(_ features: [Float], _ weight: [Float], _ gradLogits: [Float], batch: Int, width: Int,
                         classes: Int, scale: Float) -> Outputs {
        var logits = [Float](repeating: .nan, count: batch * classes)
        var gradWeight = [Float](repeating: .nan, count: classes * width)
        var gradFeatures = [Float](repeating: .nan, count: batch * width)
        Linear.forward(features: features, weight: weight, batch: batch, width: width, classes: classes, scale: scale,
                       logits: &logits)
        Linear.backward(gradLogits: gradLogits, features: features, weight: weight, batch: batch, width: width,
                        classes: classes, scale: scale, gradWeight: &gradWeight, gradFeatures: &gradFeatures)
        return (logits, gradWeight, gradFeatures)
    }

    /// The loops `Network` ran before the kernel: each output one Float sum from 0, then scaled.
    private func plainLoops(_ f: [Float], _ w: [Float], _ g: [Float], batch: Int, width: Int, classes: Int,
                            scale: Float) -> Outputs {
        var logits = [Float](repeating: 0, count: batch * classes)
        var dW = [Float](repeating: 0, count: classes * width), df = [Float](repeating: 0, count: batch * width)
        for b in 0..<batch {
            for j in 0..<classes {
                var sum: Float = 0
                for c in 0..<width { sum += f[b * width + c] * w[j * width + c] }
                logits[b * classes + j] = sum * scale
            }
        }
        for j in 0..<classes {
            for c in 0..<width {
                var sum: Float = 0
                for b in 0..<batch { sum += g[b * classes + j] * f[b * width + c] }
                dW[j * width + c] = sum * scale
            }
        }
        for b in 0..<batch {
            for c in 0..<width {
                var sum: Float = 0
                for j in 0..<classes { sum += g[b * classes + j] * w[j * width + c] }
                df[b * width + c] = sum * scale
            }
        }
        return (logits, dW, df)
    }
}
