import _AirbenchSIMD

/// One 2-D convolution over NHWC tensors (batch folded into rows), square kernel, zero padding.
///
/// `out(n, oy, ox, co) = Σ_{ky,kx,ci} in(n, oy+ky−pad, ox+kx−pad, ci) · w[co][ci][ky][kx]` with weights in
/// PyTorch's OIHW layout. `outputHeight`/`outputWidth` may be smaller than the full output size: then only the
/// top-left part is computed (what a following 2×2 max-pool with floor reads).
public struct ConvolutionShape: Sendable, Equatable, Codable {
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

    /// The shape backward-data runs on: the forward pass of the flipped, transposed kernel over gradOutput,
    /// writing the full input side.
    public var backwardDataShape: ConvolutionShape {
        var forward = c
        let b = ab_conv_backward_data_shape(&forward)
        return ConvolutionShape(batch: Int(b.batch), inputHeight: Int(b.in_h), inputWidth: Int(b.in_w),
                                inputChannels: Int(b.in_c), outputChannels: Int(b.out_c), kernelSize: Int(b.kernel_h),
                                padding: Int(b.pad), outputHeight: Int(b.out_h), outputWidth: Int(b.out_w))
    }

    var c: ab_conv_shape {
        ab_conv_shape(batch: Int32(batch), in_h: Int32(inputHeight), in_w: Int32(inputWidth),
                      in_c: Int32(inputChannels), out_h: Int32(outputHeight), out_w: Int32(outputWidth),
                      out_c: Int32(outputChannels), kernel_h: Int32(kernelSize), kernel_w: Int32(kernelSize),
                      pad: Int32(padding))
    }
}

/// The three passes of a convolution.
public enum ConvolutionPass: String, Sendable, CaseIterable, Codable {
    case forward
    case backwardData = "backward-data"
    case backwardWeights = "backward-weights"
}

/// How the passes of a convolution compute it (forward, backward-data and backward-weights).
public enum ConvolutionAlgorithm: String, Sendable, CaseIterable, Codable {
    /// Implicit GEMM over the im2col rows: kernel² · in_c multiply-adds per output, in the active precision.
    case direct
    /// Winograd's F(2×2, 3×3) for 3×3 kernels: 16 instead of 36 multiply-adds per 2×2 outputs and input channel,
    /// equal to `direct` up to rounding, in fp32. Other kernel sizes fall back to `direct`.
    case winograd
    /// Winograd's F(4×4, 3×3): 36 instead of 144 multiply-adds per 4×4 outputs and input channel, with larger
    /// transforms that round more than F(2×2)'s, in fp32. Other kernel sizes fall back to `direct`.
    case winograd4x4
    /// Winograd's F(6×6, 3×3): 64 instead of 324 multiply-adds per 6×6 outputs and input channel, in fp32 (its
    /// transforms round more than F(4×4)'s: no bf16 variant). Fewer products per output than F(4×4) only where 6
    /// divides the output side better than 4 (airbench94's 30×30 and 6×6 outputs). Other kernel sizes fall back to
    /// `direct`.
    case winograd6x6
    /// F(2×2, 3×3) with bf16 products: the transformed operands (inputs, weights, output gradients) rounded to bf16
    /// (nearest even) in pairs along the reduction and multiplied by `vdpbf16ps` into fp32 sums; the transforms stay
    /// fp32. Whatever the active precision; on a CPU without AVX512_BF16 (or off the avx512 path) a plain-C kernel
    /// does the same arithmetic slowly, for checking it. Other kernel sizes fall back to `direct`.
    case winogradBF16 = "winograd-bf16"
    /// F(4×4, 3×3) with bf16 products, as `winogradBF16`. Its transforms amplify the rounding most
    /// (`BFloat16Winograd`).
    case winograd4x4BF16 = "winograd4x4-bf16"
    /// Each pass of each layer the algorithm `preferred(forPass:_:precision:)` gives for its shape (the default).
    case auto

    /// The outputs per side of a Winograd tile (F(m×m, 3×3)); nil for the other algorithms.
    public var winogradTile: Int? {
        switch self {
        case .winograd, .winogradBF16: 2
        case .winograd4x4, .winograd4x4BF16: 4
        case .winograd6x6: 6
        case .direct, .auto: nil
        }
    }

    /// The precision a pass run by this (effective) algorithm multiplies in: direct the active precision, a Winograd
    /// its own.
    public var operandPrecision: KernelPrecision {
        switch self {
        case .winograd, .winograd4x4, .winograd6x6: .fp32
        case .winogradBF16, .winograd4x4BF16: .bf16
        case .direct, .auto: .active
        }
    }

    /// The algorithm actually used for `pass` of a convolution when its kernels run on `run` (for backward-data:
    /// `shape.backwardDataShape`, else the forward shape) in `precision`: `direct` or a Winograd, never an `auto`.
    public func effective(forPass run: ConvolutionShape, _ pass: ConvolutionPass,
                          precision: KernelPrecision = .active) -> ConvolutionAlgorithm {
        var s = run.c
        let algorithm = switch self {
        case .auto: Self.preferred(forPass: run, pass, precision: precision)
        default: self
        }
        return algorithm.winogradTile != nil && ab_winograd_supports(&s) != 0 ? algorithm : .direct
    }

    /// The faster algorithm for `pass` of shape `run`, a rule of its shape and precision alone (never of the batch
    /// or of timings taken at run time), so that a seed gives the same bits on every CPU of one instruction path.
    ///
    /// Of direct and the Winograds, the one whose products take the least time: multiply-adds per input and output
    /// channel (`multiplyAdds(forPass:_:)`: a Winograd counts its whole tiles, also where they overhang the output),
    /// halved where they run bf16 (`vdpbf16ps` does twice the multiply-adds per instruction), the first of a tie
    /// (the smaller tile), provided a Winograd needs at most ⅔ of direct's product time (its fp32 transforms cost
    /// the rest). A pass reading fewer than 8 channels stays direct, the fewest measured (its transforms run 8
    /// channels at a time). The candidates in fp32: F(2×2), F(4×4) and F(6×6), which has fewer products than
    /// F(4×4) only where 6 tiles the output side better than 4 (airbench94: 2.conv1's 30×30 and 4.conv1's 6×6, in
    /// forward and backward-weights). In bf16: fp32 F(2×2) and F(4×4), and the bf16 Winograds on the passes where
    /// their measured error is within the bound (`BFloat16Winograd.admissible`: airbench94's shapes, where
    /// bf16-F(4×4) wins all but 4.conv1's forward and backward-weights, whose 6×6 output F(2×2)'s nine tiles cover
    /// with as many products and less transform work); not fp32 F(6×6), whose 64 fp32 products per tile the rule
    /// would rank above bf16-F(2×2)'s 144 bf16 ones on 4.conv1 but which measured slower there.
    /// Measured per pass on a Zen 5 (BENCHMARKS.md, "Winograd F(4×4, 3×3)", "bf16 Winograd products: speed" and
    /// "Winograd F(6×6, 3×3)"): in fp32 the chosen Winograd wins every pass; in bf16 the bf16 Winograds beat
    /// bf16-direct and the fp32 Winograds on every pass they are chosen for but 4.conv2's backward-weights
    /// (bf16-F(4×4) 15.7 ms against bf16-direct's 13.7).
    public static func preferred(forPass run: ConvolutionShape, _ pass: ConvolutionPass,
                                 precision: KernelPrecision) -> ConvolutionAlgorithm {
        let candidates: [ConvolutionAlgorithm] = precision == .bf16
            ? [.winograd, .winograd4x4] + [.winogradBF16, .winograd4x4BF16].filter { BFloat16Winograd.admissible($0, forPass: run, pass) }
            : [.winograd, .winograd4x4, .winograd6x6]
        return fastest(forPass: run, precision: precision, among: candidates)
    }

    /// The rule of `preferred`: of `winograds` the one whose products take the least time (multiply-adds, halved
    /// where they run bf16; the first of a tie), if that is at most ⅔ of direct's, else direct; direct for a pass
    /// that is not 3×3 or reads fewer than 8 channels.
    private static func fastest(forPass run: ConvolutionShape, precision: KernelPrecision,
                                among winograds: [ConvolutionAlgorithm]) -> ConvolutionAlgorithm {
        guard run.kernelSize == 3, run.inputChannels >= 8 else { return .direct }
        func productTime(_ algorithm: ConvolutionAlgorithm) -> Double {
            let bf16 = (algorithm == .direct ? precision : algorithm.operandPrecision) == .bf16
            return Double(multiplyAdds(forPass: run, algorithm)) * (bf16 ? 0.5 : 1)
        }
        let best = winograds.min { productTime($0) < productTime($1) }!
        return productTime(best) <= 2.0 / 3 * productTime(.direct) ? best : .direct
    }

    /// Multiply-adds of a 3×3 pass of shape `run` per image, input channel and output channel under `algorithm`
    /// (`direct` or a Winograd): 9 per output pixel, or (m+2)² per m×m tile covering the output.
    public static func multiplyAdds(forPass run: ConvolutionShape, _ algorithm: ConvolutionAlgorithm) -> Int {
        guard let m = algorithm.winogradTile else { return 9 * run.outputHeight * run.outputWidth }
        return (run.outputHeight + m - 1) / m * ((run.outputWidth + m - 1) / m) * (m + 2) * (m + 2)
    }
}

/// Weights of one convolution packed for the fast forward or backward-data kernel of one algorithm, in its operand
/// precision (direct convolutions on the bf16 path and the bf16 Winograds pack bf16).
public struct PackedWeights: @unchecked Sendable {
    public let buffer: FloatBuffer
    /// The algorithm the weights are packed for (Winograd packs transformed weights).
    public let algorithm: ConvolutionAlgorithm
    /// The operand precision they are packed in (`ConvolutionAlgorithm.operandPrecision`).
    public let precision: KernelPrecision
    let shape: ab_conv_shape

    /// Packs OIHW `weights` for `Convolution.forward` on `shape`, into `reusing` when it is the right size (a
    /// training step packs every layer anew: reusing the last step's buffer spares allocating, page-faulting and
    /// freeing up to 17 MB per layer and pass every step).
    public static func forward(_ weights: UnsafePointer<Float>, shape: ConvolutionShape,
                               algorithm: ConvolutionAlgorithm = .auto, reusing: FloatBuffer? = nil) -> PackedWeights {
        var s = shape.c
        return pack(s, algorithm: algorithm.effective(forPass: shape, .forward), reusing: reusing,
                    direct: { ab_conv_pack_weights(&s, weights, $0) },
                    winograd: { ab_winograd_pack_weights(&s, $0, $1, weights, $2) })
    }

    /// Packs OIHW `weights` of the forward `shape` for `Convolution.backwardData` (`reusing` as in `forward`).
    public static func backwardData(_ weights: UnsafePointer<Float>, shape: ConvolutionShape,
                                    algorithm: ConvolutionAlgorithm = .auto, reusing: FloatBuffer? = nil) -> PackedWeights {
        var forward = shape.c
        return pack(ab_conv_backward_data_shape(&forward),
                    algorithm: algorithm.effective(forPass: shape.backwardDataShape, .backwardData), reusing: reusing,
                    direct: { ab_conv_pack_weights_backward_data(&forward, weights, $0) },
                    winograd: { ab_winograd_pack_weights_backward_data(&forward, $0, $1, weights, $2) })
    }

    /// Fills the packed buffer for the C shape `run` (the shape the packed weights are run on): `reusing` when it
    /// has the packed size, else a new one. The packers write every element (padding included), so the buffer's
    /// old contents never show.
    private static func pack(_ run: ab_conv_shape, algorithm: ConvolutionAlgorithm, reusing: FloatBuffer?,
                             direct: (UnsafeMutablePointer<Float>) -> Void,
                             winograd: (Int32, ab_precision, UnsafeMutablePointer<Float>) -> Void) -> PackedWeights {
        var s = run
        let tile = algorithm.winogradTile, precision = algorithm.operandPrecision.c
        let count = tile.map { ab_winograd_packed_count(&s, Int32($0), precision) } ?? ab_conv_packed_count(&s)
        let buffer = reusing.flatMap { $0.count == count ? $0 : nil } ?? FloatBuffer(uninitializedCount: count)
        if let tile {
            winograd(Int32(tile), precision, buffer.pointer)
        } else {
            direct(buffer.pointer)
        }
        return PackedWeights(buffer: buffer, algorithm: algorithm, precision: algorithm.operandPrecision, shape: run)
    }

    func checkShape(_ s: ab_conv_shape) {
        precondition(shape.in_c == s.in_c && shape.out_c == s.out_c, "weights packed for another shape")
    }

    /// Runs the forward kernel of `algorithm` on the C shape the weights were packed for.
    func run(_ s: ab_conv_shape, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>) {
        var s = s
        checkShape(s)
        if let tile = algorithm.winogradTile {
            ab_winograd_forward(&s, Int32(tile), precision.c, input, buffer.pointer, output)
        } else {
            precondition(precision == KernelPrecision.active, "weights packed in \(precision), kernels now run \(KernelPrecision.active)")
            ab_conv_forward(&s, input, buffer.pointer, output)
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

    /// `forward` then a 2×2 max-pool (`MaxPool.forward`, kernel 2): pooled and argmax (batch × ⌊outH/2⌋ ×
    /// ⌊outW/2⌋ × outC) overwritten, bit for bit what the two calls give. Winograd weights pool each tile while it is
    /// in cache, so the convolution's output is never written; direct weights write it to `scratch` (batch × outH ×
    /// outW × outC) and pool that.
    public static func forwardPooled(_ shape: ConvolutionShape, input: UnsafePointer<Float>, weights: PackedWeights,
                                     scratch: UnsafeMutablePointer<Float>, pooled: UnsafeMutablePointer<Float>,
                                     argmax: UnsafeMutablePointer<UInt8>) {
        var s = shape.c
        if let tile = weights.algorithm.winogradTile {
            weights.checkShape(s)
            ab_winograd_forward_pooled(&s, Int32(tile), weights.precision.c, input, weights.buffer.pointer, pooled, argmax)
        } else {
            forward(shape, input: input, weights: weights, output: scratch)
            MaxPool.forward(scratch, batch: shape.batch, height: shape.outputHeight, width: shape.outputWidth,
                            channels: shape.outputChannels, kernel: 2, output: pooled, argmax: argmax)
        }
    }

    /// All three passes of `shape` by `algorithm` on arrays, weights packed for each: (output, gradInput,
    /// gradWeights). The buffers start as NaN, so an element a pass fails to overwrite shows.
    public static func allPasses(_ shape: ConvolutionShape, input: [Float], weights: [Float], gradOutput: [Float],
                                 algorithm: ConvolutionAlgorithm) -> (output: [Float], gradInput: [Float], gradWeights: [Float]) {
        let output = FloatBuffer(count: shape.outputCount, repeating: .nan)
        let gradInput = FloatBuffer(count: shape.inputCount, repeating: .nan)
        let gradWeights = FloatBuffer(count: shape.weightCount, repeating: .nan)
        weights.withUnsafeBufferPointer { w in
            forward(shape, input: input, weights: .forward(w.baseAddress!, shape: shape, algorithm: algorithm), output: output.pointer)
            backwardData(shape, gradOutput: gradOutput, weights: .backwardData(w.baseAddress!, shape: shape, algorithm: algorithm),
                         gradInput: gradInput.pointer)
        }
        backwardWeights(shape, input: input, gradOutput: gradOutput, gradWeights: gradWeights.pointer, algorithm: algorithm)
        return (output.array, gradInput.array, gradWeights.array)
    }

    /// gradInput (batch × inH × inW × inC) is overwritten with the gradient of the input given gradOutput.
    public static func backwardData(_ shape: ConvolutionShape, gradOutput: UnsafePointer<Float>,
                                    weights: PackedWeights, gradInput: UnsafeMutablePointer<Float>) {
        var forward = shape.c
        weights.run(ab_conv_backward_data_shape(&forward), input: gradOutput, output: gradInput)
    }

    /// gradWeights (OIHW) is overwritten with Σ over the batch of gradOutput ⊗ input, by `algorithm` as
    /// `effective(forPass: shape, .backwardWeights)` resolves it: direct, or Winograd's F(3×3, m×m) over the forward
    /// pass's tiles.
    public static func backwardWeights(_ shape: ConvolutionShape, input: UnsafePointer<Float>,
                                       gradOutput: UnsafePointer<Float>, gradWeights: UnsafeMutablePointer<Float>,
                                       algorithm: ConvolutionAlgorithm = .auto) {
        var s = shape.c
        let algorithm = algorithm.effective(forPass: shape, .backwardWeights)
        if let tile = algorithm.winogradTile {
            ab_winograd_backward_weights(&s, Int32(tile), algorithm.operandPrecision.c, input, gradOutput, gradWeights)
        } else {
            ab_conv_backward_weights(&s, input, gradOutput, gradWeights)
        }
    }
}
