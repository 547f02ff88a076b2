import _AirbenchSIMD

/// The instruction-set path the kernels run on, chosen at run time from the CPU's features.
public enum KernelPath: Int, Sendable, CustomStringConvertible {
    /// Plain C, any CPU.
    case portable = 0
    /// x86-64 AVX2 + FMA, 8-wide fp32.
    case avx2 = 1

    /// The best path this CPU supports.
    public static var detected: KernelPath { KernelPath(rawValue: Int(ab_isa_detect().rawValue)) ?? .portable }
    /// The path in use.
    public static var active: KernelPath { KernelPath(rawValue: Int(ab_isa_active().rawValue)) ?? .portable }

    /// Uses `path` (or the best supported one below it) from now on; returns the path now active.
    @discardableResult
    public static func use(_ path: KernelPath) -> KernelPath {
        KernelPath(rawValue: Int(ab_isa_override(ab_isa(rawValue: UInt32(path.rawValue))).rawValue)) ?? .portable
    }

    public var description: String { self == .avx2 ? "avx2+fma fp32" : "portable fp32" }
}

/// The kernels' worker threads (one process-wide pool). Results do not depend on the thread count.
public enum KernelThreads {
    /// Number of threads the kernels use.
    public static var count: Int { Int(ab_threads()) }

    /// Sets the number of threads; returns the number in use.
    @discardableResult
    public static func use(_ threads: Int) -> Int { Int(ab_set_threads(Int32(threads))) }
}

/// Measures the fp32 FMA peak of one core on the active path with a register-only loop, in FLOP/s.
public func measureCorePeakFLOPS(seconds: Double = 0.2) -> Double { ab_measure_fma_peak(seconds) }
