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

extension ConvolutionAlgorithm {
    /// The algorithms that multiply in fp32 when the active precision is fp32: all but the bf16 Winograds.
    static var fp32: [ConvolutionAlgorithm] { allCases.filter { $0.operandPrecision != .bf16 } }
}
