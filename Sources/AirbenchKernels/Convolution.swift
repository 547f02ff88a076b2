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

/// Weights of one convolution packed for the fast forward or backward-data kernel.
public struct PackedWeights: @unchecked Sendable {
    public let buffer: FloatBuffer
    let shape: ab_conv_shape

    /// Packs OIHW `weights` for `Convolution.forward` on `shape`.
    public static func forward(_ weights: UnsafePointer<Float>, shape: ConvolutionShape) -> PackedWeights {
        var s = shape.c
        let buffer = FloatBuffer(count: ab_conv_packed_count(&s))
        ab_conv_pack_weights(&s, weights, buffer.pointer)
        return PackedWeights(buffer: buffer, shape: s)
    }

    /// Packs OIHW `weights` of the forward `shape` for `Convolution.backwardData`.
    public static func backwardData(_ weights: UnsafePointer<Float>, shape: ConvolutionShape) -> PackedWeights {
        var forward = shape.c
        var backward = ab_conv_backward_data_shape(&forward)
        let buffer = FloatBuffer(count: ab_conv_packed_count(&backward))
        ab_conv_pack_weights_backward_data(&forward, weights, buffer.pointer)
        return PackedWeights(buffer: buffer, shape: backward)
    }
}

/// The three passes of a convolution (implicit GEMM, fast path chosen by `KernelPath`).
public enum Convolution {
    /// output (batch × outH × outW × outC) is overwritten.
    public static func forward(_ shape: ConvolutionShape, input: UnsafePointer<Float>, weights: PackedWeights,
                               output: UnsafeMutablePointer<Float>) {
        var s = shape.c
        precondition(weights.shape.in_c == s.in_c && weights.shape.out_c == s.out_c, "weights packed for another shape")
        ab_conv_forward(&s, input, weights.buffer.pointer, output)
    }

    /// gradInput (batch × inH × inW × inC) is overwritten with the gradient of the input given gradOutput.
    public static func backwardData(_ shape: ConvolutionShape, gradOutput: UnsafePointer<Float>,
                                    weights: PackedWeights, gradInput: UnsafeMutablePointer<Float>) {
        var forward = shape.c
        var s = ab_conv_backward_data_shape(&forward)
        precondition(weights.shape.in_c == s.in_c && weights.shape.out_c == s.out_c, "weights packed for another shape")
        ab_conv_forward(&s, gradOutput, weights.buffer.pointer, gradInput)
    }

    /// gradWeights (OIHW) is overwritten with Σ over the batch of gradOutput ⊗ input.
    public static func backwardWeights(_ shape: ConvolutionShape, input: UnsafePointer<Float>,
                                       gradOutput: UnsafePointer<Float>, gradWeights: UnsafeMutablePointer<Float>) {
        var s = shape.c
        ab_conv_backward_weights(&s, input, gradOutput, gradWeights)
    }
}
