import Foundation

/// Slow, obvious implementations of every kernel, in Double, over NHWC arrays. Tests compare the fast kernels
/// with these, and these with finite differences.
public enum Reference {
    /// Convolution forward (see `ConvolutionShape`), accumulated in Double.
    public static func convolutionForward(_ s: ConvolutionShape, input: [Float], weights: [Float]) -> [Float] {
        convolutionForwardInDouble(s, input: input, weights: weights).map { Float($0) }
    }

    /// Gradient of the input: every output gradient scattered back through the taps that read each input pixel.
    public static func convolutionBackwardData(_ s: ConvolutionShape, gradOutput: [Float], weights: [Float]) -> [Float] {
        convolutionBackwardDataInDouble(s, gradOutput: gradOutput, weights: weights).map { Float($0) }
    }

    /// Gradient of the OIHW weights.
    public static func convolutionBackwardWeights(_ s: ConvolutionShape, input: [Float], gradOutput: [Float]) -> [Float] {
        convolutionBackwardWeightsInDouble(s, input: input, gradOutput: gradOutput).map { Float($0) }
    }

    /// `convolutionForward` before its result is rounded to Float: every product of two Floats is exact in
    /// Double, so the only error is Double's summation (about 1e-16 relative).
    public static func convolutionForwardInDouble(_ s: ConvolutionShape, input: [Float], weights: [Float]) -> [Double] {
        var out = [Double](repeating: 0, count: s.outputCount)
        forEachTap(s) { inputIndex, outputIndex, weightIndex in
            out[outputIndex] += Double(input[inputIndex]) * Double(weights[weightIndex])
        }
        return out
    }

    /// `convolutionBackwardData` before its result is rounded to Float.
    public static func convolutionBackwardDataInDouble(_ s: ConvolutionShape, gradOutput: [Float], weights: [Float]) -> [Double] {
        var grad = [Double](repeating: 0, count: s.inputCount)
        forEachTap(s) { inputIndex, outputIndex, weightIndex in
            grad[inputIndex] += Double(gradOutput[outputIndex]) * Double(weights[weightIndex])
        }
        return grad
    }

    /// `convolutionBackwardWeights` before its result is rounded to Float.
    public static func convolutionBackwardWeightsInDouble(_ s: ConvolutionShape, input: [Float], gradOutput: [Float]) -> [Double] {
        var grad = [Double](repeating: 0, count: s.weightCount)
        forEachTap(s) { inputIndex, outputIndex, weightIndex in
            grad[weightIndex] += Double(gradOutput[outputIndex]) * Double(input[inputIndex])
        }
        return grad
    }

    /// Visits every (input element, output element, weight) triple that one multiply-add of the forward pass uses.
    private static func forEachTap(_ s: ConvolutionShape, _ body: (Int, Int, Int) -> Void) {
        for n in 0..<s.batch {
            for oy in 0..<s.outputHeight {
                for ox in 0..<s.outputWidth {
                    for ky in 0..<s.kernelSize {
                        for kx in 0..<s.kernelSize {
                            let iy = oy + ky - s.padding, ix = ox + kx - s.padding
                            guard iy >= 0, iy < s.inputHeight, ix >= 0, ix < s.inputWidth else { continue }
                            for co in 0..<s.outputChannels {
                                for ci in 0..<s.inputChannels {
                                    body(((n * s.inputHeight + iy) * s.inputWidth + ix) * s.inputChannels + ci,
                                         ((n * s.outputHeight + oy) * s.outputWidth + ox) * s.outputChannels + co,
                                         ((co * s.inputChannels + ci) * s.kernelSize + ky) * s.kernelSize + kx)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Φ(x), the standard normal CDF, from Foundation's erfc.
    public static func normalCDF(_ x: Double) -> Double { 0.5 * erfc(-x / 2.0.squareRoot()) }
    /// GELU(x) = x·Φ(x).
    public static func gelu(_ x: Double) -> Double { x * normalCDF(x) }
    /// GELU'(x) = Φ(x) + x·φ(x).
    public static func geluDerivative(_ x: Double) -> Double {
        normalCDF(x) + x * exp(-0.5 * x * x) / (2 * Double.pi).squareRoot()
    }

    /// σ(x) = 1/(1 + e^{−x}).
    public static func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }
    /// SiLU(x) = x·σ(x).
    public static func silu(_ x: Double) -> Double { x * sigmoid(x) }
    /// SiLU'(x) = σ(x)·(1 + x·(1 − σ(x))).
    public static func siluDerivative(_ x: Double) -> Double { sigmoid(x) * (1 + x * (1 - sigmoid(x))) }

    /// f(x) for the activation f.
    public static func activation(_ f: Activation, _ x: Double) -> Double {
        switch f {
        case .gelu: gelu(x)
        case .silu: silu(x)
        }
    }

    /// f′(x) for the activation f.
    public static func activationDerivative(_ f: Activation, _ x: Double) -> Double {
        switch f {
        case .gelu: geluDerivative(x)
        case .silu: siluDerivative(x)
        }
    }

    /// k×k max-pool, stride k, floor; the first maximum in scan order wins.
    public static func maxPool(_ x: [Float], batch: Int, height: Int, width: Int, channels: Int, kernel k: Int)
        -> (output: [Float], argmax: [Int]) {
        let ph = height / k, pw = width / k
        var output = [Float](repeating: 0, count: batch * ph * pw * channels), argmax = [Int](repeating: 0, count: output.count)
        for n in 0..<batch {
            for py in 0..<ph {
                for px in 0..<pw {
                    for c in 0..<channels {
                        var best = -Float.infinity, where_ = 0
                        for ky in 0..<k {
                            for kx in 0..<k {
                                let v = x[((n * height + py * k + ky) * width + px * k + kx) * channels + c]
                                if v > best || (ky == 0 && kx == 0) { best = v; where_ = ky * k + kx }
                            }
                        }
                        let o = ((n * ph + py) * pw + px) * channels + c
                        output[o] = best
                        argmax[o] = where_
                    }
                }
            }
        }
        return (output, argmax)
    }

    /// Training-mode BatchNorm (weight 1, learnable bias) followed by the activation f, per channel over all rows:
    /// y = f((x − mean)/√(var + eps) + bias) with the biased batch variance.
    public static func batchNormActivation(_ x: [Float], rows: Int, channels: Int, bias: [Float], eps: Double,
                                           activation f: Activation) -> [Float] {
        let (mean, variance) = meanVariance(x, rows: rows, channels: channels)
        var y = x
        for r in 0..<rows {
            for c in 0..<channels {
                let z = (Double(x[r * channels + c]) - mean[c]) / (variance[c] + eps).squareRoot() + Double(bias[c])
                y[r * channels + c] = Float(activation(f, z))
            }
        }
        return y
    }

    /// Per-channel mean and biased variance, two-pass in Double.
    public static func meanVariance(_ x: [Float], rows: Int, channels: Int) -> (mean: [Double], variance: [Double]) {
        var mean = [Double](repeating: 0, count: channels), variance = mean
        for r in 0..<rows { for c in 0..<channels { mean[c] += Double(x[r * channels + c]) } }
        for c in 0..<channels { mean[c] /= Double(rows) }
        for r in 0..<rows {
            for c in 0..<channels {
                let d = Double(x[r * channels + c]) - mean[c]
                variance[c] += d * d
            }
        }
        for c in 0..<channels { variance[c] /= Double(rows) }
        return (mean, variance)
    }
}
