import _AirbenchSIMD

/// The activation functions of the family: exact GELU, x·Φ(x) with the erf normal CDF (PyTorch's `nn.GELU()`,
/// every airbench network), and SiLU, x·σ(x) (PyTorch's `nn.SiLU()`, inside hiverge's ConvGroups).
public enum Activation: String, Sendable, Equatable, Codable, CaseIterable {
    case gelu
    case silu

    /// As papers write it: GELU, SiLU.
    public var name: String {
        switch self {
        case .gelu: "GELU"
        case .silu: "SiLU"
        }
    }

    var kernel: ab_activation {
        switch self {
        case .gelu: AB_ACTIVATION_GELU
        case .silu: AB_ACTIVATION_SILU
        }
    }

    /// y = f(x); y may alias x.
    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        ab_activation_forward(kernel, x, y, count)
    }

    /// dx = dy·f′(x), overwritten; dx may alias dy.
    public func backward(_ x: UnsafePointer<Float>, gradOutput: UnsafePointer<Float>,
                         gradInput: UnsafeMutablePointer<Float>, count: Int) {
        ab_activation_backward(kernel, x, gradOutput, gradInput, count)
    }
}

/// Per-channel reductions and maps over NHWC rows (the pieces of BatchNorm).
public enum ChannelOps {
    /// (Σx, Σx²) per channel, in Double.
    public static func sums(_ x: UnsafePointer<Float>, rows: Int, channels: Int) -> (sum: [Double], squares: [Double]) {
        var sum = [Double](repeating: 0, count: channels), squares = sum
        ab_channel_sums(x, rows, Int32(channels), &sum, &squares)
        return (sum, squares)
    }

    /// y = x·scale[c] + shift[c], then `activation` (none when nil). y may alias x.
    public static func affine(_ x: UnsafePointer<Float>, rows: Int, channels: Int, scale: [Float], shift: [Float],
                              activation: Activation?, output: UnsafeMutablePointer<Float>) {
        ab_affine_activation(x, rows, Int32(channels), scale, shift, activation?.kernel ?? AB_ACTIVATION_NONE, output)
    }

    /// dz = dy·f′(x·scale + shift) for the activation f (dz may alias dy); returns per-channel (Σdz, Σdz·x).
    public static func affineActivationBackward(_ x: UnsafePointer<Float>, gradOutput: UnsafePointer<Float>, rows: Int,
                                                channels: Int, scale: [Float], shift: [Float], activation: Activation,
                                                gradAffine: UnsafeMutablePointer<Float>) -> (sum: [Double], dotInput: [Double]) {
        var sum = [Double](repeating: 0, count: channels), dot = sum
        ab_affine_activation_backward(x, gradOutput, rows, Int32(channels), scale, shift, activation.kernel, gradAffine,
                                      &sum, &dot)
        return (sum, dot)
    }

    /// dx = dz·a[c] + x·b[c] + d[c] (`norm`'s map of dz), overwritten (dx may alias dz).
    public static func combine(_ dz: UnsafePointer<Float>, _ norm: NormInputGradient, rows: Int, channels: Int,
                               output: UnsafeMutablePointer<Float>) {
        ab_batchnorm_input_grad(dz, norm.x, rows, Int32(channels), norm.a, norm.b, norm.d, output)
    }
}

/// BatchNorm's input gradient as an affine map of its output gradient dz and its input `x` (NHWC rows):
/// dx = dz·a[c] + x·b[c] + d[c]. Applied by `ChannelOps.combine`, or by `MaxPool.backward` on its way.
public struct NormInputGradient {
    public let x: UnsafePointer<Float>
    public let a: [Float], b: [Float], d: [Float]

    public init(x: UnsafePointer<Float>, a: [Float], b: [Float], d: [Float]) {
        (self.x, self.a, self.b, self.d) = (x, a, b, d)
    }
}

/// k×k max-pooling with stride k and floor, recording the first maximum of each window (as PyTorch).
public enum MaxPool {
    public static func forward(_ x: UnsafePointer<Float>, batch: Int, height: Int, width: Int, channels: Int,
                               kernel: Int, output: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<UInt8>) {
        ab_maxpool_forward(x, Int32(batch), Int32(height), Int32(width), Int32(channels), Int32(kernel), output, argmax)
    }

    /// gradInput (batch × height × width × channels) overwritten: zero except at each window's maximum. With `norm`,
    /// gradOutput is the dz of the BatchNorm after the pool and what reaches the maxima is the norm's input gradient
    /// (`NormInputGradient`, pooled size like gradOutput): `ChannelOps.combine` and this pass in one, the same bits.
    public static func backward(_ gradOutput: UnsafePointer<Float>, through norm: NormInputGradient? = nil,
                                argmax: UnsafePointer<UInt8>, batch: Int, height: Int, width: Int, channels: Int,
                                kernel: Int, gradInput: UnsafeMutablePointer<Float>) {
        let run = { (map: UnsafePointer<ab_norm_input_grad>?) in
            ab_maxpool_backward(gradOutput, map, argmax, Int32(batch), Int32(height), Int32(width), Int32(channels),
                                Int32(kernel), gradInput)
        }
        guard let norm else { return run(nil) }
        norm.a.withUnsafeBufferPointer { a in
            norm.b.withUnsafeBufferPointer { b in
                norm.d.withUnsafeBufferPointer { d in
                    var map = ab_norm_input_grad(x: norm.x, a: a.baseAddress, b: b.baseAddress, d: d.baseAddress)
                    run(&map)
                }
            }
        }
    }
}
