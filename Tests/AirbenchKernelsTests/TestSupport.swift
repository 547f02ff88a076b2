import AirbenchKernels
import XCTest

/// Deterministic test values (a 64-bit LCG), so failures reproduce.
struct TestRandom {
    var state: UInt64
    init(_ seed: UInt64) { state = seed &* 6364136223846793005 &+ 1442695040888963407 }
    mutating func uniform() -> Float {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(state >> 40) / Float(1 << 24) * 2 - 1
    }
    mutating func array(_ count: Int, scale: Float = 1) -> [Float] { (0..<count).map { _ in uniform() * scale } }
}

/// Asserts |a − b| ≤ absolute + relative·|b| elementwise, reporting the worst element.
func assertClose(_ a: [Float], _ b: [Float], absolute: Float, relative: Float = 0, _ message: String = "",
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "count " + message, file: file, line: line)
    var worst = 0, worstExcess: Float = 0
    for i in 0..<min(a.count, b.count) {
        let excess = abs(a[i] - b[i]) - (absolute + relative * abs(b[i]))
        if !(excess <= worstExcess) { worst = i; worstExcess = excess.isNaN ? .infinity : excess }
    }
    if worstExcess > 0 {
        XCTFail("\(message): element \(worst): \(a[worst]) vs \(b[worst])", file: file, line: line)
    }
}

/// Runs `body` on the bf16 path, restoring the best path and the default precision afterwards; skips the test
/// on a CPU without AVX512_BF16.
func onBFloat16Path(_ body: () throws -> Void) throws {
    guard KernelPrecision.bf16Supported else { throw XCTSkip("this CPU has no AVX512_BF16") }
    defer {
        KernelPath.use(KernelPath.detected)
        KernelPrecision.use(KernelPrecision.fastest)
    }
    KernelPath.use(.avx512)
    XCTAssertEqual(KernelPrecision.use(.bf16), .bf16)
    try body()
}

extension Array where Element == Float {
    /// Each element rounded to bf16 as the bf16 path rounds its operands.
    var roundedToBFloat16: [Float] { map { AirbenchKernels.roundedToBFloat16($0) } }
}
