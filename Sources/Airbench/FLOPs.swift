/// FLOPs as the family's scripts count them (spec D.2): a forward pass is 2 × the multiply-adds of the
/// convolutions (conv1 of each group over its whole 'same' output, before the max-pool) and the linear head; a
/// training example costs 3 forward passes (forward, backward-data, backward-weights); the final evaluation
/// runs one forward pass per TTA view of every test image. (The engine computes conv1 only where the floor
/// max-pool reads it, so it executes a little less: `Network.forwardFLOPsPerImage`.)
extension NetworkSpec {
    /// Forward FLOPs per image, counted as the reference scripts run them.
    public var referenceForwardFLOPsPerImage: Double {
        let k = whitening.kernelSize
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

extension Hyperparameters {
    /// Optimizer steps of a run on `trainImages` images: ⌈(trainImages / batchSize, rounded down) · epochs⌉.
    public func totalSteps(trainImages: Int) -> Int {
        Int((Double(trainImages / batchSize) * trainEpochs).rounded(.up))
    }

    /// Test-time views per image at `ttaLevel`: 1, 2 (mirror) or 6 (mirror × three translations); without the
    /// mirrored views (SVHN) 1, 1 or 3.
    public func ttaViews(mirror: Bool = true) -> Int { TTA.views(level: ttaLevel, mirror: mirror).count }

    /// What a run on `trainImages` training and `testImages` test images costs, counted as in the spec (D.2).
    public func runCost(trainImages: Int = 50_000, testImages: Int = 10_000, classes: Int = 10, mirror: Bool = true) -> RunCost {
        let steps = totalSteps(trainImages: trainImages)
        let spec = networkSpec(classes: classes)
        let forward = spec.referenceForwardFLOPsPerImage
        let trained = proxy?.keep ?? batchSize
        var proxyFLOPs = 0.0
        if let proxy, let p = proxyHyperparameters {
            let proxyForward = p.networkSpec(classes: classes).referenceForwardFLOPsPerImage
            let updates = (steps + proxy.stepInterval - 1) / proxy.stepInterval
            // Every batch is scored (one forward pass); every interval-th also trains (two more passes).
            proxyFLOPs = proxyForward * Double(batchSize) * Double(steps + 2 * updates)
        }
        return RunCost(steps: steps, examplesPerStep: trained, forwardFLOPsPerImage: forward,
                       trainingFLOPs: 3 * forward * Double(steps * trained), proxyFLOPs: proxyFLOPs,
                       evaluationFLOPs: forward * Double(ttaViews(mirror: mirror) * testImages))
    }
}
