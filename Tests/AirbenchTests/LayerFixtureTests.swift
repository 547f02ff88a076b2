import Airbench
import AirbenchKernels
import AirbenchTestSupport
import XCTest

/// Single layers against CPU PyTorch (Fixtures/layers.safetensors, scripts/make_fixtures.py), fp32 both sides.
/// Tolerance 1e-5 of each tensor's scale: a few ulps after sums of up to 45 products.
final class LayerFixtureTests: XCTestCase {
    var fixture: SafetensorsFile!

    override func setUpWithError() throws { fixture = try loadFixture("layers") }

    func testGELU() throws {
        let x = try fixture.floats("gelu.x"), dy = try fixture.floats("gelu.dy")
        let y = FloatBuffer(count: x.count), dx = FloatBuffer(count: x.count)
        forEachKernelPath { path in
            Activation.gelu.forward(x, y.pointer, count: x.count)
            Activation.gelu.backward(x, gradOutput: dy, gradInput: dx.pointer, count: x.count)
            do {
                // Relative per element: GELU spans 1e-4…1e4 here.
                let expectedY = try fixture.floats("gelu.y"), expectedDx = try fixture.floats("gelu.dx")
                for i in x.indices {
                    XCTAssertEqual(y[i], expectedY[i], accuracy: 1e-6 + 2e-6 * abs(expectedY[i]), "\(path) y(\(x[i]))")
                    XCTAssertEqual(dx[i], expectedDx[i], accuracy: 1e-6 + 2e-6 * abs(expectedDx[i]), "\(path) dx(\(x[i]))")
                }
            } catch { XCTFail("\(error)") }
        }
    }

    func testLabelSmoothedCrossEntropy() throws {
        let logits = try fixture.floats("xent.logits"), labels = try fixture.integers("xent.labels").map { Int32($0) }
        var gradient = [Float](repeating: 0, count: logits.count)
        let (loss, _) = LabelSmoothedCrossEntropy.evaluate(logits: logits, labels: labels, batch: 16, classes: 10,
                                                           smoothing: 0.2, gradient: &gradient)
        XCTAssertEqual(loss, Double(try fixture.floats("xent.loss")[0]), accuracy: 1e-5 * abs(loss))
        assertScaledClose(gradient, try fixture.floats("xent.dlogits"), tolerance: 1e-6, "dlogits")
    }

    func testMaxPool() throws {
        for (name, side, k) in [("maxpool2", 7, 2), ("maxpool3", 3, 3)] {
            let x = nhwc(try fixture.floats("\(name).x"), batch: 2, channels: 3, height: side, width: side)
            let p = side / k
            let dy = nhwc(try fixture.floats("\(name).dy"), batch: 2, channels: 3, height: p, width: p)
            let y = FloatBuffer(count: 2 * p * p * 3), argmax = Buffer<UInt8>(count: y.count, repeating: 0)
            let dx = FloatBuffer(count: x.count)
            MaxPool.forward(x, batch: 2, height: side, width: side, channels: 3, kernel: k, output: y.pointer, argmax: argmax.pointer)
            MaxPool.backward(dy, argmax: argmax.pointer, batch: 2, height: side, width: side, channels: 3, kernel: k,
                             gradInput: dx.pointer)
            XCTAssertEqual(nchw(y.array, batch: 2, channels: 3, height: p, width: p), try fixture.floats("\(name).y"), name)
            XCTAssertEqual(nchw(dx.array, batch: 2, channels: 3, height: side, width: side), try fixture.floats("\(name).dx"), name)
        }
    }

    func testConvolutions() throws {
        for (name, cin, cout, side, k, pad) in [("conv3x3", 5, 7, 6, 3, 1), ("conv2x2", 3, 4, 5, 2, 0)] {
            let s = ConvolutionShape(batch: 2, inputHeight: side, inputWidth: side, inputChannels: cin,
                                     outputChannels: cout, kernelSize: k, padding: pad)
            let x = nhwc(try fixture.floats("\(name).x"), batch: 2, channels: cin, height: side, width: side)
            let w = try fixture.floats("\(name).w")
            let dy = nhwc(try fixture.floats("\(name).dy"), batch: 2, channels: cout, height: s.outputHeight, width: s.outputWidth)
            let y = FloatBuffer(count: s.outputCount), dx = FloatBuffer(count: s.inputCount), dw = FloatBuffer(count: s.weightCount)
            try forEachKernelPath { path in
                w.withUnsafeBufferPointer { w in
                    Convolution.forward(s, input: x, weights: .forward(w.baseAddress!, shape: s), output: y.pointer)
                    Convolution.backwardData(s, gradOutput: dy, weights: .backwardData(w.baseAddress!, shape: s),
                                             gradInput: dx.pointer)
                }
                Convolution.backwardWeights(s, input: x, gradOutput: dy, gradWeights: dw.pointer)
                var out = y.array
                if name == "conv2x2" {  // the bias is added by the network as a per-channel shift
                    let b = try fixture.floats("conv2x2.b")
                    for i in out.indices { out[i] += b[i % cout] }
                    var db = [Float](repeating: 0, count: cout)
                    for i in dy.indices { db[i % cout] += dy[i] }
                    assertScaledClose(db, try fixture.floats("conv2x2.db"), tolerance: 1e-5, "\(path) \(name) db")
                }
                let oh = s.outputHeight, ow = s.outputWidth
                assertScaledClose(nchw(out, batch: 2, channels: cout, height: oh, width: ow), try fixture.floats("\(name).y"),
                                  tolerance: 1e-5, "\(path) \(name) y")
                assertScaledClose(nchw(dx.array, batch: 2, channels: cin, height: side, width: side),
                                  try fixture.floats("\(name).dx"), tolerance: 1e-5, "\(path) \(name) dx")
                assertScaledClose(dw.array, try fixture.floats("\(name).dw"), tolerance: 1e-5, "\(path) \(name) dw")
            }
        }
    }
}
