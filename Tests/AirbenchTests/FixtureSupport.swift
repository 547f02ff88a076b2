import Airbench
import AirbenchKernels
import Foundation
import XCTest

/// Opens a committed fixture written by scripts/make_fixtures.py (CPU PyTorch).
func loadFixture(_ name: String) throws -> SafetensorsFile {
    let url = try XCTUnwrap(Bundle.module.url(forResource: name, withExtension: "safetensors", subdirectory: "Fixtures"),
                            "missing fixture \(name)")
    return try SafetensorsFile.read(from: url)
}

/// NCHW (PyTorch) → NHWC (ours).
func nhwc(_ x: [Float], batch: Int, channels: Int, height: Int, width: Int) -> [Float] {
    var out = [Float](repeating: 0, count: x.count)
    for n in 0..<batch { for c in 0..<channels { for y in 0..<height { for w in 0..<width {
        out[((n * height + y) * width + w) * channels + c] = x[((n * channels + c) * height + y) * width + w]
    } } } }
    return out
}

/// NHWC → NCHW.
func nchw(_ x: [Float], batch: Int, channels: Int, height: Int, width: Int) -> [Float] {
    var out = [Float](repeating: 0, count: x.count)
    for n in 0..<batch { for c in 0..<channels { for y in 0..<height { for w in 0..<width {
        out[((n * channels + c) * height + y) * width + w] = x[((n * height + y) * width + w) * channels + c]
    } } } }
    return out
}

/// Asserts max|a − b| ≤ tolerance · max(|b|_∞, floor): an error relative to the tensor's scale, so one
/// tolerance serves tensors of any magnitude. Reports the worst element.
func assertScaledClose(_ a: [Float], _ b: [Float], tolerance: Float, floor: Float = 1e-6, _ name: String,
                       file: StaticString = #filePath, line: UInt = #line) {
    guard a.count == b.count else { return XCTFail("\(name): \(a.count) vs \(b.count) values", file: file, line: line) }
    let scale = max(b.map(abs).max() ?? 0, floor)
    var worst = 0
    for i in a.indices where !(abs(a[i] - b[i]) <= abs(a[worst] - b[worst])) { worst = i }
    let error = abs(a[worst] - b[worst])
    if !(error <= tolerance * scale) {
        XCTFail("\(name): element \(worst) is \(a[worst]), expected \(b[worst]) (error \(error / scale) of scale \(scale))",
                file: file, line: line)
    }
}

/// The first value of a fixture tensor.
func scalar(_ file: SafetensorsFile, _ key: String) throws -> Double { Double(try file.floats(key)[0]) }

/// The network of `h` with every state entry read from the fixture's `prefix` + name (PyTorch's state_dict keys).
func fixtureNetwork(_ h: Hyperparameters, _ file: SafetensorsFile, prefix: String) throws -> Network {
    let network = try Network(spec: h.networkSpec(), batchNormMomentum: h.batchNormMomentum)
    for entry in network.state.layout.entries { network.state.set(entry.name, try file.floats(prefix + entry.name)) }
    return network
}

/// Writes the fixture's `key.input` (NCHW → NHWC) and `key.labels` into the step's batch.
func fillFixtureBatch(_ step: TrainStep, _ file: SafetensorsFile, _ key: String) throws {
    let x = nhwc(try file.floats(key + ".input"), batch: step.batchSize, channels: 3, height: 32, width: 32)
    step.images.update(from: x, count: x.count)
    let y = try file.integers(key + ".labels").map { Int32($0) }
    step.labelPointer.update(from: y, count: y.count)
}

/// Runs the fixture's `steps` steps (the whitening bias trainable in the first `whitenBiasSteps`) and checks step
/// 1's logits, loss and gradients, every step's loss, and the state after the last step. Tolerances (both sides
/// fp32, different summation orders): 1e-5 of the tensor's scale for one forward pass, 1e-4 for gradients and
/// states after steps.
func checkFixtureSteps(_ file: SafetensorsFile, _ network: Network, _ step: TrainStep, steps: Int = 3,
                       whitenBiasSteps: Int = .max, label: String) throws {
    for k in 1...steps {
        try fillFixtureBatch(step, file, "step\(k)")
        let trainable = k - 1 < whitenBiasSteps
        let (loss, _) = try step.forwardBackward(whitenBiasTrainable: trainable)
        XCTAssertEqual(loss, try scalar(file, "step\(k).loss"), accuracy: 1e-4 * loss, "\(label) loss \(k)")
        if k == 1 {
            assertScaledClose(step.workspace.logits.array, try file.floats("step1.logits"), tolerance: 1e-5, "\(label) logits")
            for entry in network.state.layout.entries where entry.role != .frozen {
                assertScaledClose(step.gradients.values(entry.name), try file.floats("step1.grad." + entry.name),
                                  tolerance: 1e-4, "\(label) grad \(entry.name)")
            }
        }
        step.update(whitenBiasTrainable: trainable)
    }
    for entry in network.state.layout.entries {
        assertScaledClose(network.state.values(entry.name), try file.floats("final.state." + entry.name),
                          tolerance: 1e-4, "\(label) final \(entry.name)")
    }
}

/// airbench94_hiverge at widths 8/16/16, batch 64, whitening from 128 images: a run on a few hundred synthetic
/// images that still selects and merges TTA views.
func tinyHiverge(epochs: Double) -> Hyperparameters {
    var h = Method.airbench94Hiverge.hyperparameters
    h.widths = Widths(block1: 8, block2: 16, block3: 16)
    h.batchSize = 64
    h.trainEpochs = epochs
    h.whiteningImages = 128
    return h
}
