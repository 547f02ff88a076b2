import AirbenchData
import AirbenchKernels

/// airbench96_faster's data filtering (spec C.3): a small proxy network (2-conv groups, whitening bias frozen at
/// 0, no Lookahead) runs through the whole training stream first. At every step it scores the batch by its
/// per-example loss in training mode (BatchNorm statistics update) and keeps the `keep` highest; every
/// `stepInterval`-th step it also trains on exactly those (loss = Σ kept losses). The main network then trains
/// on the kept examples of the same stream.
public final class ProxyFilter {
    let network: Network
    let configuration: ProxyFiltering
    let hyperparameters: Hyperparameters

    /// The proxy network of `p` (a method's `proxyHyperparameters`) selecting as `configuration` says,
    /// initialised from `generator`.
    init(_ p: Hyperparameters, selecting configuration: ProxyFiltering, classes: Int,
         convolution: ConvolutionAlgorithm, generator: inout SeededGenerator) throws {
        network = try Network(spec: p.networkSpec(input: .cifar, classes: classes),
                              batchNormMomentum: p.batchNormMomentum, batchNormEpsilon: p.batchNormEpsilon)
        network.initialize(using: &generator, dirac: p.diracInit)
        network.convolutionAlgorithm = convolution
        self.configuration = configuration
        hyperparameters = p
    }

    /// Runs the proxy through `totalSteps` batches of `batches`; returns, per step, the indices (ascending) of
    /// the batch's examples the main network trains on.
    func select(totalSteps: Int, schedules: GroupSchedules, batches: BatchSource) throws -> [[Int32]] {
        let step = TrainStep(network: network, hyperparameters: hyperparameters, scheduleFactor: { schedules.main[$0] },
                             lookaheadDecay: nil)
        var losses = [Double](repeating: 0, count: step.batchSize)
        var selections = [[Int32]]()
        selections.reserveCapacity(totalSteps)
        for t in 0..<totalSteps {
            batches.fill(step: t, images: step.images, labels: step.labelPointer)
            _ = try losses.withUnsafeMutableBufferPointer { try step.forwardLoss(perExample: $0.baseAddress!) }
            let kept = Self.highestLosses(losses, keep: configuration.keep)
            selections.append(kept)
            if t % configuration.stepInterval == 0 {
                Self.keepGradientRows(kept, gradient: step.workspace.gradientLogitsPointer, batch: step.batchSize,
                                      classes: network.classes)
                step.backward(whitenBiasTrainable: false)
                step.update(whitenBiasTrainable: false)
            } else {
                step.skipUpdate()
            }
        }
        return selections
    }

    /// The indices of the `keep` largest losses (`loss.argsort()[-keep:]`; ties go to the later index, as a
    /// stable ascending sort would leave them), in ascending index order (the order of `inputs[mask]`).
    public static func highestLosses(_ losses: [Double], keep: Int) -> [Int32] {
        let ranked = losses.indices.sorted { losses[$0] != losses[$1] ? losses[$0] > losses[$1] : $0 > $1 }
        return ranked.prefix(keep).sorted().map { Int32($0) }
    }

    /// d(Σ kept losses)/d(logits): the rows of examples not kept become 0.
    public static func keepGradientRows(_ kept: [Int32], gradient: UnsafeMutablePointer<Float>, batch: Int, classes: Int) {
        var keep = [Bool](repeating: false, count: batch)
        for index in kept { keep[Int(index)] = true }
        for b in 0..<batch where !keep[b] { (gradient + b * classes).update(repeating: 0, count: classes) }
    }
}
