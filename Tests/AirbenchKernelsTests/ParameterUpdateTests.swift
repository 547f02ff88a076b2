import AirbenchKernels
import AirbenchTestSupport
import XCTest

/// Nesterov SGD's and Lookahead's updates against the plain Float loops they replaced (equal to the bit, on every
/// path and thread count: no fused multiply-adds) and against the update written out in Double.
final class ParameterUpdateTests: XCTestCase {
    /// More than two of the kernel's chunks (16,384 floats) and not a whole number of them, and a short one.
    let counts = [40_000, 7]

    func testNesterovEqualsThePlainLoopBitForBit() {
        let before = KernelThreads.count
        defer { KernelThreads.use(before) }
        for count in counts {
            var random = TestRandom(UInt64(count))
            let p0 = random.array(count), g = random.array(count, scale: 0.1), buffer0 = random.array(count)
            let (lr, wd, m): (Float, Float, Float) = (0.0123, 0.37, 0.85)
            for first in [true, false] {
                var expectedP = p0, expectedBuffer = buffer0
                for i in 0..<count {  // the loop of NesterovSGD.step before the kernel
                    let d = g[i] + wd * expectedP[i]
                    expectedBuffer[i] = first ? d : m * expectedBuffer[i] + d
                    expectedP[i] -= lr * (d + m * expectedBuffer[i])
                }
                forEachKernelPath { path in
                    for threads in [1, 2, 3] {
                        KernelThreads.use(threads)
                        var p = p0, buffer = buffer0
                        ParameterUpdate.nesterov(parameters: &p, gradients: g, buffer: &buffer, count: count,
                                                 learningRate: lr, weightDecay: wd, momentum: m, first: first)
                        let label = "\(count), first \(first), \(path), \(threads) threads"
                        XCTAssertEqual(p.map(\.bitPattern), expectedP.map(\.bitPattern), "parameters, \(label)")
                        XCTAssertEqual(buffer.map(\.bitPattern), expectedBuffer.map(\.bitPattern), "buffer, \(label)")
                    }
                }
                // The same update in Double: the Float one is within a few roundings of it.
                var p = p0, buffer = buffer0
                ParameterUpdate.nesterov(parameters: &p, gradients: g, buffer: &buffer, count: count, learningRate: lr,
                                         weightDecay: wd, momentum: m, first: first)
                for i in 0..<count {
                    let d = Double(g[i]) + Double(wd) * Double(p0[i])
                    let b = first ? d : Double(m) * Double(buffer0[i]) + d
                    let updated = Double(p0[i]) - Double(lr) * (d + Double(m) * b)
                    XCTAssertEqual(Double(buffer[i]), b, accuracy: 1e-6, "buffer \(i)")
                    XCTAssertEqual(Double(p[i]), updated, accuracy: 1e-6, "parameter \(i)")
                }
            }
        }
    }

    func testLookaheadEqualsThePlainLoopBitForBit() {
        let before = KernelThreads.count
        defer { KernelThreads.use(before) }
        for count in counts {
            var random = TestRandom(UInt64(3 * count))
            let fast0 = random.array(count), slow0 = random.array(count), weight: Float = 1 - 0.95
            var expectedSlow = slow0
            for i in 0..<count { expectedSlow[i] += weight * (fast0[i] - expectedSlow[i]) }
            forEachKernelPath { path in
                for threads in [1, 2, 3] {
                    KernelThreads.use(threads)
                    var fast = fast0, slow = slow0
                    ParameterUpdate.lookahead(fast: &fast, slow: &slow, count: count, weight: weight)
                    let label = "\(count), \(path), \(threads) threads"
                    XCTAssertEqual(slow.map(\.bitPattern), expectedSlow.map(\.bitPattern), "slow, \(label)")
                    XCTAssertEqual(fast.map(\.bitPattern), expectedSlow.map(\.bitPattern), "fast = slow, \(label)")
                    for i in 0..<count {
                        let lerp = Double(slow0[i]) + Double(weight) * (Double(fast0[i]) - Double(slow0[i]))
                        if abs(Double(slow[i]) - lerp) > 1e-6 { XCTFail("slow \(i): \(slow[i]) vs \(lerp)"); break }
                    }
                }
            }
        }
    }
}
