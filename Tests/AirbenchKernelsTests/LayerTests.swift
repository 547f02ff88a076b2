import AirbenchKernels
import AirbenchTestSupport
import XCTest

final class LayerTests: XCTestCase {
    /// GELU (erf) and SiLU against the Double references, densely where they curve, plus the tails (SiLU's
    /// e^{−|x|} underflows past −87) and zero.
    func testActivationsForwardAndBackwardMatchTheReferences() {
        let xs: [Float] = stride(from: -12, through: 12, by: 0.003).map { Float($0) }
            + [0, -0.0, 1e-6, -1e-6, 30, -30, 90, -90, -100]
        let y = FloatBuffer(count: xs.count), dx = FloatBuffer(count: xs.count)
        let ones = [Float](repeating: 1, count: xs.count)
        forEachKernelPath { path in
            for f in Activation.allCases {
                f.forward(xs, y.pointer, count: xs.count)
                f.backward(xs, gradOutput: ones, gradInput: dx.pointer, count: xs.count)
                for (i, x) in xs.enumerated() {
                    let expected = Reference.activation(f, Double(x)), slope = Reference.activationDerivative(f, Double(x))
                    XCTAssertEqual(Double(y[i]), expected, accuracy: 2e-7 + 2e-6 * abs(expected), "\(path) \(f)(\(x))")
                    XCTAssertEqual(Double(dx[i]), slope, accuracy: 4e-7 + 2e-6 * abs(slope), "\(path) \(f)'(\(x))")
                }
            }
        }
    }

    func testActivationDerivativesMatchFiniteDifferences() {
        for f in Activation.allCases {
            for x in stride(from: -6.0, through: 6.0, by: 0.37) {
                let h = 1e-5
                let numeric = (Reference.activation(f, x + h) - Reference.activation(f, x - h)) / (2 * h)
                XCTAssertEqual(Reference.activationDerivative(f, x), numeric, accuracy: 1e-8, "\(f)'(\(x))")
            }
        }
    }

    func testChannelSumsAndAffine() {
        var random = TestRandom(3)
        let rows = 1000, channels = 7
        let x = random.array(rows * channels).map { $0 * 3 + 5 }
        let (sum, squares) = ChannelOps.sums(x, rows: rows, channels: channels)
        for c in 0..<channels {
            let column = (0..<rows).map { Double(x[$0 * channels + c]) }
            XCTAssertEqual(sum[c], column.reduce(0, +), accuracy: 1e-9 * abs(sum[c]))
            XCTAssertEqual(squares[c], column.reduce(0) { $0 + $1 * $1 }, accuracy: 1e-9 * squares[c])
        }
        let scale = random.array(channels), shift = random.array(channels)
        let y = FloatBuffer(count: x.count)
        forEachKernelPath { path in
            for f in [nil] + Activation.allCases {
                ChannelOps.affine(x, rows: rows, channels: channels, scale: scale, shift: shift, activation: f, output: y.pointer)
                let expected = (0..<x.count).map { i -> Float in
                    let z = Double(x[i] * scale[i % channels] + shift[i % channels])
                    return Float(f.map { Reference.activation($0, z) } ?? z)
                }
                assertClose(y.array, expected, absolute: 1e-6, relative: 3e-6, "\(path) \(f.map(\.rawValue) ?? "none")")
            }
        }
    }

    /// dz = dy·f′(x·scale + shift) with Σdz and Σdz·x per channel, for GELU and SiLU, against a Double reference;
    /// computed in place (dz over dy, as the backward pass does) for 19 channels (vector groups plus a remainder)
    /// and 600 rows (more than one reduction chunk).
    func testAffineActivationBackwardInPlaceMatchesReference() {
        var random = TestRandom(11)
        let rows = 600, channels = 19
        let x = random.array(rows * channels).map { $0 * 3 }, dy = random.array(rows * channels)
        let scale = random.array(channels).map { $0 + 1.5 }, shift = random.array(channels)
        for f in Activation.allCases {
            var expected = [Double](), expectedSum = [Double](repeating: 0, count: channels), expectedDot = expectedSum
            for i in 0..<x.count {
                let c = i % channels, z = Double(x[i]) * Double(scale[c]) + Double(shift[c])
                let g = Double(dy[i]) * Reference.activationDerivative(f, z)
                expected.append(g)
                expectedSum[c] += g
                expectedDot[c] += g * Double(x[i])
            }
            forEachKernelPath { path in
                let grad = FloatBuffer(count: dy.count)
                for i in 0..<dy.count { grad[i] = dy[i] }
                let (sum, dot) = ChannelOps.affineActivationBackward(x, gradOutput: grad.pointer, rows: rows, channels: channels,
                                                                     scale: scale, shift: shift, activation: f,
                                                                     gradAffine: grad.pointer)
                assertClose(grad.array, expected.map { Float($0) }, absolute: 1e-6, relative: 1e-5, "\(path) \(f) dz")
                for c in 0..<channels {
                    XCTAssertEqual(sum[c], expectedSum[c], accuracy: 1e-4, "\(path) \(f) Σdz[\(c)]")
                    XCTAssertEqual(dot[c], expectedDot[c], accuracy: 3e-4, "\(path) \(f) Σdz·x[\(c)]")
                }
            }
        }
    }

    /// BatchNorm (training mode, weight 1) + GELU or SiLU backward assembled from the kernels, against central
    /// differences of the Double reference.
    func testBatchNormActivationBackwardMatchesFiniteDifferences() {
        for f in Activation.allCases { checkBatchNormBackward(activation: f) }
    }

    func checkBatchNormBackward(activation f: Activation) {
        var random = TestRandom(5)
        let rows = 40, channels = 3, eps = 1e-5
        let x = random.array(rows * channels).map { $0 * 2 + 0.5 }, bias = random.array(channels)
        let r = random.array(rows * channels)
        func loss(_ x: [Float], _ bias: [Float]) -> Double {
            zip(Reference.batchNormActivation(x, rows: rows, channels: channels, bias: bias, eps: eps, activation: f), r)
                .reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        // Fast path: scale = 1/√(var+eps), shift = bias − mean·scale.
        let (mean, variance) = Reference.meanVariance(x, rows: rows, channels: channels)
        let invStd = variance.map { 1 / ($0 + eps).squareRoot() }
        let scale = invStd.map { Float($0) }, shift = (0..<channels).map { Float(Double(bias[$0]) - mean[$0] * invStd[$0]) }
        let dz = FloatBuffer(count: x.count), dx = FloatBuffer(count: x.count)
        let (sumDz, sumDzX) = ChannelOps.affineActivationBackward(x, gradOutput: r, rows: rows, channels: channels,
                                                                   scale: scale, shift: shift, activation: f,
                                                                   gradAffine: dz.pointer)
        let n = Double(rows)
        var a = [Float](), b = [Float](), d = [Float]()
        for c in 0..<channels {
            let sumDzXhat = invStd[c] * (sumDzX[c] - mean[c] * sumDz[c])
            a.append(Float(invStd[c]))
            b.append(Float(-invStd[c] * invStd[c] * sumDzXhat / n))
            d.append(Float(-invStd[c] * sumDz[c] / n + mean[c] * invStd[c] * invStd[c] * sumDzXhat / n))
        }
        x.withUnsafeBufferPointer {
            ChannelOps.combine(dz.pointer, NormInputGradient(x: $0.baseAddress!, a: a, b: b, d: d), rows: rows,
                               channels: channels, output: dx.pointer)
        }
        let h: Float = 1e-3
        for i in 0..<x.count {
            var plus = x, minus = x
            plus[i] += h; minus[i] -= h
            XCTAssertEqual(Double(dx[i]), (loss(plus, bias) - loss(minus, bias)) / Double(2 * h), accuracy: 2e-3, "\(f) x[\(i)]")
        }
        for c in 0..<channels {
            var plus = bias, minus = bias
            plus[c] += h; minus[c] -= h
            XCTAssertEqual(sumDz[c], (loss(x, plus) - loss(x, minus)) / Double(2 * h), accuracy: 2e-3, "\(f) bias[\(c)]")
        }
    }

    func testMaxPoolMatchesReferenceIncludingTies() {
        // 19 channels: two groups of 8 for the vector path plus a remainder; 7×7 windows leave pixels uncovered,
        // whose gradient must be zero (dx starts as NaN).
        forEachKernelPath { path in
            var random = TestRandom(9)
            for (h, w, k) in [(7, 7, 2), (6, 6, 2), (3, 3, 3), (30, 30, 2)] {
                let batch = 2, channels = 19
                // Values rounded to a coarse grid so windows contain ties.
                let x = random.array(batch * h * w * channels).map { ($0 * 2).rounded() / 2 }
                let (expected, expectedArgmax) = Reference.maxPool(x, batch: batch, height: h, width: w, channels: channels, kernel: k)
                let y = FloatBuffer(count: expected.count), argmax = Buffer<UInt8>(count: expected.count, repeating: 0)
                MaxPool.forward(x, batch: batch, height: h, width: w, channels: channels, kernel: k, output: y.pointer,
                                argmax: argmax.pointer)
                XCTAssertEqual(y.array, expected, "\(path)")
                XCTAssertEqual(argmax.array.map(Int.init), expectedArgmax, "\(path)")
                let g = random.array(expected.count), dx = FloatBuffer(count: x.count, repeating: .nan)
                MaxPool.backward(g, argmax: argmax.pointer, batch: batch, height: h, width: w, channels: channels,
                                 kernel: k, gradInput: dx.pointer)
                var expectedDx = [Float](repeating: 0, count: x.count)
                let ph = h / k, pw = w / k
                for n in 0..<batch { for py in 0..<ph { for px in 0..<pw { for c in 0..<channels {
                    let o = ((n * ph + py) * pw + px) * channels + c, at = expectedArgmax[o]
                    expectedDx[((n * h + py * k + at / k) * w + px * k + at % k) * channels + c] = g[o]
                } } } }
                XCTAssertEqual(dx.array, expectedDx, "\(path)")
            }
        }
    }
    /// The max-pool backward that forms norm1's input gradient on its way gives the bits of the two passes it replaces
    /// (`ChannelOps.combine`, then the plain max-pool backward), on every path: 19 channels (vector groups and a
    /// remainder), sides that leave pixels outside every window, ties in the windows.
    func testPoolBackwardThroughNormEqualsCombineThenPool() {
        forEachKernelPath { path in
            var random = TestRandom(21)
            for (h, w) in [(7, 7), (6, 6), (30, 30)] {
                let batch = 3, channels = 19, pooled = batch * (h / 2) * (w / 2) * channels
                let input = random.array(batch * h * w * channels).map { ($0 * 2).rounded() / 2 }
                let y = FloatBuffer(count: pooled), argmax = Buffer<UInt8>(count: pooled, repeating: 0)
                MaxPool.forward(input, batch: batch, height: h, width: w, channels: channels, kernel: 2, output: y.pointer,
                                argmax: argmax.pointer)
                let dz = random.array(pooled), x = random.array(pooled).map { $0 * 3 }
                let a = random.array(channels), b = random.array(channels), d = random.array(channels)
                let separate = FloatBuffer(count: input.count, repeating: .nan)
                let fused = FloatBuffer(count: input.count, repeating: .nan)
                x.withUnsafeBufferPointer { xp in
                    let norm = NormInputGradient(x: xp.baseAddress!, a: a, b: b, d: d)
                    let dx = FloatBuffer(count: pooled)
                    ChannelOps.combine(dz, norm, rows: pooled / channels, channels: channels, output: dx.pointer)
                    MaxPool.backward(dx.pointer, argmax: argmax.pointer, batch: batch, height: h, width: w,
                                     channels: channels, kernel: 2, gradInput: separate.pointer)
                    MaxPool.backward(dz, through: norm, argmax: argmax.pointer, batch: batch, height: h, width: w,
                                     channels: channels, kernel: 2, gradInput: fused.pointer)
                }
                let differing = zip(fused.array, separate.array).filter { $0.bitPattern != $1.bitPattern }.count
                XCTAssertEqual(differing, 0, "\(path) \(h)×\(w): elements whose bits differ")
                XCTAssertTrue(separate.array.contains { $0 != 0 }, "\(path): the gradient reaches the maxima")
            }
        }
    }
}
