import _AirbenchSIMD

/// The classifier head without bias, with its output scale (Listing 4: `nn.Linear(width, classes, bias=False)` then
/// `Mul(scaling_factor)`), over flat row-major buffers. Every output is one Float sum in a fixed order (see each
/// function), whatever the thread count.
public enum Linear {
    /// logits (batch × classes) overwritten: logits[b][j] = scale · Σ_c features[b][c] · weight[j][c], c ascending.
    /// features: batch × width; weight: classes × width.
    public static func forward(features: UnsafePointer<Float>, weight: UnsafePointer<Float>, batch: Int, width: Int,
                               classes: Int, scale: Float, logits: UnsafeMutablePointer<Float>) {
        ab_linear_forward(features, weight, Int32(batch), Int32(width), Int32(classes), scale, logits)
    }

    /// Both gradients overwritten: gradWeight[j][c] = scale · Σ_b gradLogits[b][j] · features[b][c] (b ascending),
    /// gradFeatures[b][c] = scale · Σ_j gradLogits[b][j] · weight[j][c] (j ascending).
    public static func backward(gradLogits: UnsafePointer<Float>, features: UnsafePointer<Float>,
                                weight: UnsafePointer<Float>, batch: Int, width: Int, classes: Int, scale: Float,
                                gradWeight: UnsafeMutablePointer<Float>, gradFeatures: UnsafeMutablePointer<Float>) {
        ab_linear_backward(gradLogits, features, weight, Int32(batch), Int32(width), Int32(classes), scale, gradWeight,
                           gradFeatures)
    }
}
