/// How far a pass computed one way lies from the exact result (the Double reference,
/// `Reference.convolution…InDouble`), over the pass's whole output.
public struct ConvolutionError: Codable, Sendable, Equatable {
    /// ‖y − y₆₄‖ / ‖y₆₄‖.
    public var relative: Double
    /// max |y − y₆₄| / rms(y₆₄): the worst element on the scale of the output.
    public var maximum: Double
    /// Σ (y − y₆₄)·y₆₄ / Σ y₆₄²: the error's component along the exact result, as a fraction of it. Rounding to
    /// nearest is unbiased, so this is noise of order `relative`/√(elements) around 0. Truncation shrinks every
    /// rounded operand by half a bf16 unit on average (2⁻⁸·ln 2 ≈ 0.27% of its value), so every product by about
    /// 0.54%, and the sums with them, whatever the transforms do after: about −0.0054 for bf16 products.
    public var bias: Double

    public init(relative: Double, maximum: Double, bias: Double) {
        (self.relative, self.maximum, self.bias) = (relative, maximum, bias)
    }

    /// The error of `y` against the exact `reference` (same count).
    public init(_ y: [Float], reference: [Double]) {
        precondition(y.count == reference.count && !y.isEmpty)
        var squares = 0.0, errorSquares = 0.0, along = 0.0, worst = 0.0
        for (value, exact) in zip(y, reference) {
            let error = Double(value) - exact
            squares += exact * exact
            errorSquares += error * error
            along += error * exact
            worst = max(worst, abs(error))
        }
        relative = (errorSquares / squares).squareRoot()
        maximum = worst / (squares / Double(y.count)).squareRoot()
        bias = along / squares
    }
}

/// The ways `ConvolutionAccuracy.measure` computes each pass: an algorithm and the precision of its products.
public enum ConvolutionArithmetic: String, CaseIterable, Codable, Sendable {
    case fp32Direct = "fp32 direct"
    case fp32Winograd = "fp32 F(2×2)"
    case fp32Winograd4x4 = "fp32 F(4×4)"
    case fp32Winograd6x6 = "fp32 F(6×6)"
    case bf16Direct = "bf16 direct"
    case bf16Winograd = "bf16 F(2×2)"
    case bf16Winograd4x4 = "bf16 F(4×4)"

    public var algorithm: ConvolutionAlgorithm {
        switch self {
        case .fp32Direct, .bf16Direct: .direct
        case .fp32Winograd: .winograd
        case .fp32Winograd4x4: .winograd4x4
        case .fp32Winograd6x6: .winograd6x6
        case .bf16Winograd: .winogradBF16
        case .bf16Winograd4x4: .winograd4x4BF16
        }
    }

    public var precision: KernelPrecision {
        switch self {
        case .fp32Direct, .fp32Winograd, .fp32Winograd4x4, .fp32Winograd6x6: .fp32
        case .bf16Direct, .bf16Winograd, .bf16Winograd4x4: .bf16
        }
    }
}

/// The accuracy of the convolution kernels against the exact result, per pass: what `airbench bench --errors`
/// measures on a network's real operands, and what the bound on bf16 Winograd products is checked with.
public enum ConvolutionAccuracy {
    /// The error of each pass of the 3×3 convolution `s` under each of `arithmetics`, on these operands (NHWC input
    /// and output gradient, OIHW weights). bf16 direct runs the bf16 kernel where the CPU has it, elsewhere the exact
    /// convolution of the bf16-rounded operands (the kernel differs from that only by fp32 summation, about 1e-7);
    /// the bf16 Winograds run everywhere (plain C where the CPU lacks AVX512_BF16). Restores the active precision.
    public static func measure(_ s: ConvolutionShape, input: [Float], weights: [Float], gradOutput: [Float],
                               arithmetics: [ConvolutionArithmetic] = ConvolutionArithmetic.allCases)
        -> [ConvolutionPass: [ConvolutionArithmetic: ConvolutionError]] {
        let exact: [ConvolutionPass: [Double]] = [
            .forward: Reference.convolutionForwardInDouble(s, input: input, weights: weights),
            .backwardData: Reference.convolutionBackwardDataInDouble(s, gradOutput: gradOutput, weights: weights),
            .backwardWeights: Reference.convolutionBackwardWeightsInDouble(s, input: input, gradOutput: gradOutput),
        ]
        var errors = [ConvolutionPass: [ConvolutionArithmetic: ConvolutionError]]()
        for arithmetic in arithmetics {
            for (pass, y) in run(arithmetic, s, input: input, weights: weights, gradOutput: gradOutput) {
                errors[pass, default: [:]][arithmetic] = ConvolutionError(y, reference: exact[pass]!)
            }
        }
        return errors
    }

    /// The three passes of `s` under `arithmetic`.
    static func run(_ arithmetic: ConvolutionArithmetic, _ s: ConvolutionShape, input: [Float], weights: [Float],
                    gradOutput: [Float]) -> [ConvolutionPass: [Float]] {
        let before = KernelPrecision.active
        defer { KernelPrecision.use(before) }
        // The precision of direct; each Winograd carries its own.
        if KernelPrecision.use(arithmetic.precision) != arithmetic.precision && arithmetic == .bf16Direct {
            let (x, w, g) = (input.map(roundedToBFloat16), weights.map(roundedToBFloat16), gradOutput.map(roundedToBFloat16))
            return [.forward: Reference.convolutionForward(s, input: x, weights: w),
                    .backwardData: Reference.convolutionBackwardData(s, gradOutput: g, weights: w),
                    .backwardWeights: Reference.convolutionBackwardWeights(s, input: x, gradOutput: g)]
        }
        let passes = Convolution.allPasses(s, input: input, weights: weights, gradOutput: gradOutput, algorithm: arithmetic.algorithm)
        return [.forward: passes.output, .backwardData: passes.gradInput, .backwardWeights: passes.gradWeights]
    }
}
