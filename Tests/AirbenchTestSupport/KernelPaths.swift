import AirbenchKernels

// What the kernels' and the engine's tests both need: one copy, in a module of its own that the test targets share.

extension KernelPath {
    /// The paths this CPU runs: portable always, and every path up to the detected one.
    public static var available: [KernelPath] { allCases.filter { $0.rawValue <= detected.rawValue } }
}

/// Runs `body` on every kernel path this CPU has (portable always) in fp32, restoring the best path and the
/// default precision afterwards.
public func forEachKernelPath(_ body: (KernelPath) throws -> Void) rethrows {
    defer {
        KernelPath.use(KernelPath.detected)
        KernelPrecision.use(KernelPrecision.fastest)
    }
    KernelPrecision.use(.fp32)
    for path in KernelPath.available {
        KernelPath.use(path)
        try body(path)
    }
}

extension ConvolutionAlgorithm {
    /// The algorithms that multiply in fp32 when the active precision is fp32: all but the bf16 Winograds.
    public static var fp32: [ConvolutionAlgorithm] { allCases.filter { $0.operandPrecision != .bf16 } }
}
