import _AirbenchSIMD

/// One 2-D convolution over NHWC tensors (batch folded into rows), square kernel, zero padding.
///
/// `out(n, oy, ox, co) = Σ_{ky,kx,ci} in(n, oy+ky−pad, ox+kx−pad, ci) · w[co][ci][ky][kx]` with weights in
/// PyTorch's OIHW layout. `outputHeight`/`outputWidth` may be smaller than the full output size: then only the
/// top-left part is computed (what a following 2×2 max-pool with floor reads).
public struct ConvolutionShape: Sendable, Equatable {
    public var batch: Int
    public var inputHeight: Int, inputWidth: Int, inputChannels: Int
    public var outputHeight: Int, outputWidth: Int, outputChannels: Int
    public var kernelSize: Int
    public var padding: Int

    public init(batch: Int, inputHeight: Int, inputWidth: Int, inputChannels: Int, outputChannels: Int,
                kernelSize: Int, padding: Int, outputHeight: Int? = nil, outputWidth: Int? = nil) {
        self.batch = batch
        self.inputHeight = inputHeight
        self.inputWidth = inputWidth
        self.inputChannels = inputChannels
        self.outputChannels = outputChannels
        self.kernelSize = kernelSize
        self.padding = padding
        self.outputHeight = outputHeight ?? inputHeight + 2 * padding - kernelSize + 1
        self.outputWidth = outputWidth ?? inputWidth + 2 * padding - kernelSize + 1
    }

    public var inputCount: Int { batch * inputHeight * inputWidth * inputChannels }
    public var outputCount: Int { batch * outputHeight * outputWidth * outputChannels }
    public var weightCount: Int { outputChannels * inputChannels * kernelSize * kernelSize }
    /// Multiply-adds × 2 of one pass (forward, backward-data and backward-weights each do this many).
    public var flops: Double { 2 * Double(batch * outputHeight * outputWidth) * Double(weightCount) }

    var c: ab_conv_shape {
        ab_conv_shape(batch: Int32(batch), in_h: Int32(inputHeight), in_w: Int32(inputWidth),
                      in_c: Int32(inputChannels), out_h: Int32(outputHeight), out_w: Int32(outputWidth),
                      out_c: Int32(outputChannels), kernel_h: Int32(kernelSize), kernel_w: Int32(kernelSize),
                      pad: Int32(padding))
    }
}

/// How the forward and backward-data passes compute a convolution.
public enum ConvolutionAlgorithm: String, Sendable, CaseIterable, Codable {
    /// Implicit GEMM over the im2col rows: kernel² · in_c multiply-adds per output.
    case direct
    /// Winograd's F(2×2, 3×3) for 3×3 kernels: 16 instead of 36 multiply-adds per 2×2 outputs and input channel,
    /// equal to `direct` up to rounding. Other kernel sizes fall back to `direct`.
    case winograd

    /// The algorithm actually used for `shape`.
    public func effective(for shape: ConvolutionShape) -> ConvolutionAlgorithm {
        var s = shape.c
        return self == .winograd && ab_winograd_supports(&s) != 0 ? .winograd : .direct
    }
}

/// Weights of one convolution packed for the fast forward or backward-data kernel of one algorithm, in the
/// precision active when they were packed (direct convolutions on the bf16 path pack bf16).
public struct PackedWeights: @unchecked Sendable {
    public let buffer: FloatBuffer
    /// The algorithm the weights are packed for (Winograd packs transformed weights).
    public let algorithm: ConvolutionAlgorithm
    /// The operand precision they are packed in (Winograd always runs fp32).
    public let precision: KernelPrecision
    let shape: ab_conv_shape

    /// Packs OIHW `weights` for `Convolution.forward` on `shape`.
    public static func forward(_ weights: UnsafePointer<Float>, shape: ConvolutionShape,
                               algorithm: ConvolutionAlgorithm = .direct) -> PackedWeights {
        var s = shape.c
        return pack(s, algorithm: algorithm.effective(for: shape),
                    direct: { ab_conv_pack_weights(&s, weights, $0) }, winograd: { ab_winograd_pack_weights(&s, weights, $0) })
    }

    /// Packs OIHW `weights` of the forward `shape` for `Convolution.backwardData`.
    public static func backwardData(_ weights: UnsafePointer<Float>, shape: ConvolutionShape,
                                    algorithm: ConvolutionAlgorithm = .direct) -> PackedWeights {
        var forward = shape.c
        return pack(ab_conv_backward_data_shape(&forward), algorithm: algorithm.effective(for: shape),
                    direct: { ab_conv_pack_weights_backward_data(&forward, weights, $0) },
                    winograd: { ab_winograd_pack_weights_backward_data(&forward, weights, $0) })
    }

    /// Allocates the packed buffer for the C shape `run` (the shape the packed weights are run on) and fills it.
    private static func pack(_ run: ab_conv_shape, algorithm: ConvolutionAlgorithm,
                             direct: (UnsafeMutablePointer<Float>) -> Void,
                             winograd: (UnsafeMutablePointer<Float>) -> Void) -> PackedWeights {
        var s = run
        let buffer: FloatBuffer
        switch algorithm {
        case .direct:
            buffer = FloatBuffer(count: ab_conv_packed_count(&s))
            direct(buffer.pointer)
        case .winograd:
            buffer = FloatBuffer(count: ab_winograd_packed_count(&s))
            winograd(buffer.pointer)
        }
        let precision = algorithm == .direct ? KernelPrecision.active : .fp32
        return PackedWeights(buffer: buffer, algorithm: algorithm, precision: precision, shape: run)
    }

    /// Runs the forward kernel of `algorithm` on the C shape the weights were packed for.
    func run(_ s: ab_conv_shape, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>) {
        var s = s
        precondition(shape.in_c == s.in_c && shape.out_c == s.out_c, "weights packed for another shape")
        switch algorithm {
        case .direct:
            precondition(precision == KernelPrecision.active, "weights packed in \(precision), kernels now run \(KernelPrecision.active)")
            ab_conv_forward(&s, input, buffer.pointer, output)
        case .winograd: ab_winograd_forward(&s, input, buffer.pointer, output)
        }
    }
}

/// The three passes of a convolution (fast path chosen by `KernelPath` and `KernelPrecision`, algorithm by the
/// packed weights).
public enum Convolution {
    /// output (batch × outH × outW × outC) is overwritten.
    public static func forward(_ shape: ConvolutionShape, input: UnsafePointer<Float>, weights: PackedWeights,
                               output: UnsafeMutablePointer<Float>) {
        weights.run(shape.c, input: input, output: output)
    }

    /// gradInput (batch × inH × inW × inC) is overwritten with the gradient of the input given gradOutput.
    public static func backwardData(_ shape: ConvolutionShape, gradOutput: UnsafePointer<Float>,
                                    weights: PackedWeights, gradInput: UnsafeMutablePointer<Float>) {
        var forward = shape.c
        weights.run(ab_conv_backward_data_shape(&forward), input: gradOutput, output: gradInput)
    }

    /// gradWeights (OIHW) is overwritten with Σ over the batch of gradOutput ⊗ input.
    public static func backwardWeights(_ shape: ConvolutionShape, input: UnsafePointer<Float>,
                                       gradOutput: UnsafePointer<Float>, gradWeights: UnsafeMutablePointer<Float>) {
        var s = shape.c
        ab_conv_backward_weights(&s, input, gradOutput, gradWeights)
    }
}
