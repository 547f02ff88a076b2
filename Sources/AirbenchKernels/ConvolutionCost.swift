/// What one pass of a convolution costs as this package computes it: the floating-point operations it performs
/// (a Winograd counted as computed, products and transforms, not as the direct convolution it equals) and the
/// bytes it moves to and from memory. The roofline table of `airbench bench` is these two over the measured time,
/// against the measured compute peak and memory bandwidth.
///
/// Bytes are the tensors a pass must read and write once each (its operands, its result and its packed weights);
/// the Winograd-domain intermediates stay in a thread's cache by construction (tile groups sized for L2) and are not
/// counted. A model, not a measurement of the memory controller: it is the traffic the pass cannot avoid.
public struct ConvolutionCost: Sendable, Equatable, Codable {
    /// Floating-point operations performed (a multiply-add is 2).
    public var flops: Double
    /// Of `flops`, those of the Winograd transforms (0 for direct).
    public var transformFLOPs: Double
    /// Bytes read and written.
    public var bytes: Double

    /// FLOPs per tile and channel of F(m×m)'s vectorised transforms (conv_winograd.c, counted operation by
    /// operation): the input transform Bᵀ d B per input channel, the output transform Aᵀ M A per output channel and
    /// the output-gradient transform A dY Aᵀ per output channel (backward-weights).
    static func transformFLOPsPerTileChannel(tile m: Int) -> (input: Double, output: Double, gradient: Double) {
        // F(4×4): input_rows_4 19 FLOPs per row of 6, 6 + 6 rows; output_rows_4 13 per row, 6 + 4 rows;
        // grad_rows_4 11 per row, 4 + 6 rows. F(6×6): input_rows_6 38 per row of 8, 8 + 8 rows; output_rows_6 30,
        // 8 + 6 rows; grad_rows_6 28, 6 + 8 rows. F(2×2): 16 + 16 per 4×4 input, 16 + 8 per output, 3 per row of
        // grad_rows_2, 2 + 4 rows.
        switch m {
        case 6: (608, 420, 392)
        case 4: (228, 130, 110)
        default: (32, 24, 18)
        }
    }

    /// The cost of `pass` of the convolution `shape` (the forward shape) run by `algorithm` (an effective one:
    /// direct or a Winograd), its operands in `precision`; `pooled`: the forward pass writes its 2×2 max-pool
    /// (values and 1-byte indices) instead of its output (`Convolution.forwardPooled` on a Winograd).
    public static func of(_ pass: ConvolutionPass, _ shape: ConvolutionShape, algorithm: ConvolutionAlgorithm,
                          precision: KernelPrecision, pooled: Bool = false) -> ConvolutionCost {
        let run = pass == .backwardData ? shape.backwardDataShape : shape
        let operandBytes = Double(precision == .bf16 ? 2 : 4)
        let inputBytes = 4 * Double(run.inputCount), outputBytes = 4 * Double(run.outputCount)
        let pooledBytes = 5 * Double(run.batch * (run.outputHeight / 2) * (run.outputWidth / 2) * run.outputChannels)
        let weights = Double(shape.weightCount)
        guard let m = algorithm.winogradTile else {
            // Direct: the packed weights once, plus the fp32 weights read when they are packed (every step).
            let bytes: Double = switch pass {
            case .forward, .backwardData: inputBytes + outputBytes + weights * (4 + 2 * operandBytes)
            case .backwardWeights: inputBytes + outputBytes + 4 * weights
            }
            return ConvolutionCost(flops: shape.flops, transformFLOPs: 0, bytes: bytes)
        }
        let alpha = Double((m + 2) * (m + 2))
        let tiles = Double(run.batch * ((run.outputHeight + m - 1) / m) * ((run.outputWidth + m - 1) / m))
        let inC = Double(run.inputChannels), outC = Double(run.outputChannels)
        let perTile = transformFLOPsPerTileChannel(tile: m)
        let products = 2 * tiles * alpha * inC * outC
        let transformedWeights = alpha * inC * outC * operandBytes
        switch pass {
        case .forward, .backwardData:
            let transforms = tiles * (inC * perTile.input + outC * perTile.output)
            let written = pass == .forward && pooled ? pooledBytes : outputBytes
            return ConvolutionCost(flops: products + transforms, transformFLOPs: transforms,
                                   bytes: inputBytes + written + 4 * weights + 2 * transformedWeights)
        case .backwardWeights:
            let transforms = tiles * (inC * perTile.input + outC * perTile.gradient)
            return ConvolutionCost(flops: products + transforms, transformFLOPs: transforms,
                                   bytes: inputBytes + outputBytes + 4 * weights)
        }
    }
}
