/// FLOPs as the family's scripts count them (spec D.2): a forward pass is 2 × the multiply-adds of the
/// convolutions (conv1 of each group over its whole 'same' output, before the max-pool) and the linear head; a
/// training example costs 3 forward passes (forward, backward-data, backward-weights); the final evaluation
/// runs one forward pass per TTA view of every test image, or with selective TTA (hiverge) the plain view of every
/// image and the views of those selected (`RunPlan.ttaForwards`). (The engine computes conv1 only where the floor
/// max-pool reads it, so it executes a little less: `Network.forwardFLOPsPerImage`.)
extension NetworkSpec {
    /// Forward FLOPs per image, counted as the reference scripts run them.
    public var referenceForwardFLOPsPerImage: Double {
        let k = whiteningLayer.kernelSize
        var flops = 2.0 * Double(whitenedHeight * whitenedWidth) * Double(whiteningWidth * input.channels * k * k)
        var channels = whiteningWidth
        for (group, size) in zip(groups, groupInputSizes) {
            let pooled = (size.height / 2) * (size.width / 2)
            flops += 2 * Double(size.height * size.width) * Double(group.width * channels * 9)
            flops += 2 * Double(group.convs - 1) * Double(pooled) * Double(group.width * group.width * 9)
            channels = group.width
        }
        return flops + 2 * Double(head.classes * channels)
    }

    /// Parameters as PyTorch counts them (`sum(p.numel() for p in model.parameters())`): every entry of the
    /// state layout except the BatchNorm running statistics, frozen ones included.
    public var parameterCount: Int {
        Network.layout(spec: self).entries.filter { !$0.name.hasSuffix("running_mean") && !$0.name.hasSuffix("running_var") }
            .reduce(0) { $0 + $1.count }
    }
}

/// The work of one training run of a method.
public struct RunCost: Sendable, Equatable, Codable {
    /// Optimizer steps, and the examples each trains on.
    public var steps: Int, examplesPerStep: Int
    /// Forward FLOPs per image of the main network.
    public var forwardFLOPsPerImage: Double
    /// Training (3 forward passes per trained example), the proxy's scoring and training, and the final TTA
    /// evaluation.
    public var trainingFLOPs: Double, proxyFLOPs: Double, evaluationFLOPs: Double
    public var totalFLOPs: Double { trainingFLOPs + proxyFLOPs + evaluationFLOPs }
}
