import _AirbenchSIMD

/// The instruction-set path the kernels run on, chosen at run time from the CPU's features.
public enum KernelPath: Int, Sendable, CaseIterable, CustomStringConvertible {
    /// Plain C, any CPU.
    case portable = 0
    /// x86-64 AVX2 + FMA, 8-wide fp32.
    case avx2 = 1
    /// x86-64 AVX-512: the GEMM micro-kernel on 16-wide registers (fp32 results identical to `avx2`), and the
    /// bf16 convolutions where the CPU has AVX512_BF16.
    case avx512 = 2

    /// The best path this CPU supports.
    public static var detected: KernelPath { KernelPath(rawValue: Int(ab_isa_detect().rawValue)) ?? .portable }
    /// The path in use.
    public static var active: KernelPath { KernelPath(rawValue: Int(ab_isa_active().rawValue)) ?? .portable }

    /// Uses `path` (or the best supported one below it) from now on; returns the path now active.
    @discardableResult
    public static func use(_ path: KernelPath) -> KernelPath {
        KernelPath(rawValue: Int(ab_isa_override(ab_isa(rawValue: UInt32(path.rawValue))).rawValue)) ?? .portable
    }

    public var description: String {
        switch self {
        case .portable: "portable"
        case .avx2: "avx2+fma"
        case .avx512: "avx512"
        }
    }
}

/// Precision of the convolutions' operands. Activations, BatchNorm, GELU, gradients, the optimizer and the
/// master weights are fp32 on every path.
public enum KernelPrecision: String, Sendable, CaseIterable, Codable, CustomStringConvertible {
    /// fp32 operands and sums.
    case fp32
    /// Operands rounded to bf16 (nearest even), products summed in fp32 (`vdpbf16ps`): twice the multiply-adds
    /// per instruction. Needs the `avx512` path on a CPU with AVX512_BF16.
    case bf16

    /// Whether this CPU has the bf16 path.
    public static var bf16Supported: Bool { ab_bf16_supported() != 0 }
    /// The fastest precision this CPU has (the default).
    public static var fastest: KernelPrecision { bf16Supported ? .bf16 : .fp32 }
    /// The precision in use (bf16 only while the active path is `avx512` on a CPU with AVX512_BF16).
    public static var active: KernelPrecision { ab_precision_active() == AB_PRECISION_BF16 ? .bf16 : .fp32 }

    /// Chooses `precision` from now on; returns the precision now active (fp32 where bf16 is not available).
    @discardableResult
    public static func use(_ precision: KernelPrecision) -> KernelPrecision {
        ab_precision_override(precision.c) == AB_PRECISION_BF16
            ? .bf16 : .fp32
    }

    public var description: String { rawValue }

    /// The C kernels' name of this precision.
    var c: ab_precision { self == .bf16 ? AB_PRECISION_BF16 : AB_PRECISION_FP32 }
}

/// What decides the bits of a result besides the seed and the configuration: the instruction path and the
/// convolutions' precision, e.g. "avx512 bf16".
public var kernelConfiguration: String { "\(KernelPath.active) \(KernelPrecision.active)" }

/// Rounds `value` to bf16 exactly as the bf16 path does, returned as a Float (nearest even; subnormals to zero).
public func roundedToBFloat16(_ value: Float) -> Float {
    Float(bitPattern: UInt32(ab_bf16_from_float(value)) << 16)
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

/// Measures the bf16 peak of one core (`vdpbf16ps`) with a register-only loop, in FLOP/s; 0 without AVX512_BF16.
public func measureCoreBFloat16PeakFLOPS(seconds: Double = 0.2) -> Double { ab_measure_bf16_peak(seconds) }

/// Measures the memory bandwidth all threads reach copying `bytes` between two buffers (the best of `repeats`), in
/// bytes read and written per second.
public func measureCopyBandwidth(bytes: Int = 512 << 20, repeats: Int = 5) -> Double {
    ab_measure_copy_bandwidth(bytes, Int32(repeats))
}
