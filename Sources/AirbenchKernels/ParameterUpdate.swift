import _AirbenchSIMD

/// The optimizers' elementwise updates over flat parameter buffers, parallel over chunks. Each element is the
/// expression given, in Float, with no fused multiply-adds: the same bits as the plain loop on every path.
public enum ParameterUpdate {
    /// Nesterov SGD (`torch.optim.SGD(nesterov=True)` with its weight decay), in place on `count` elements:
    ///
    ///     d = g + weightDecay·p;  buffer = d (first step) or momentum·buffer + d;  p −= learningRate·(d + momentum·buffer)
    public static func nesterov(parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>,
                                buffer: UnsafeMutablePointer<Float>, count: Int, learningRate: Float,
                                weightDecay: Float, momentum: Float, first: Bool) {
        ab_nesterov_update(parameters, gradients, buffer, count, learningRate, weightDecay, momentum, first ? 1 : 0)
    }

    /// Lookahead's sync on `count` elements: slow ← slow + weight·(fast − slow) (`torch.lerp_`), then fast ← slow.
    public static func lookahead(fast: UnsafeMutablePointer<Float>, slow: UnsafeMutablePointer<Float>, count: Int,
                                 weight: Float) {
        ab_lookahead_update(fast, slow, count, weight)
    }
}
