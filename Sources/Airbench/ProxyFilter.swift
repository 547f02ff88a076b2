import AirbenchData
import AirbenchKernels

/// airbench96_faster's data filtering (spec C.3), the one component `train` calls for it: a small proxy network
/// (2-conv groups, whitening bias frozen at 0, no Lookahead) runs through the whole training stream first. At every
/// step it scores the batch by its per-example loss in training mode (BatchNorm statistics update) and keeps the
/// `keep` highest; every `stepInterval`-th step it also trains on exactly those (loss = Σ kept losses). The main
/// network then trains on the kept examples of the same stream.
public final class ProxyFilter {
    let network: Network
    /// The main run's plan (its steps, and which of them the proxy trains at) and the proxy network's (the same
    /// steps and schedule, its own network: `RunPlan.proxyPlan`).
    let main: RunPlan, plan: RunPlan
    /// The examples of each batch the main network trains on.
    let keep: Int

    /// The proxy of the run `main` plans (nil when it filters nothing), initialised from `generator`.
    init?(filtering main: RunPlan, classes: Int, convolution: ConvolutionAlgorithm, generator: inout SeededGenerator) throws {
        guard let plan = main.proxyPlan, let proxy = main.hyperparameters.proxy else { return nil }
        let p = plan.hyperparameters
        network = try Network(spec: p.networkSpec(input: .cifar, classes: classes),
                              batchNormMomentum: p.batchNormMomentum, batchNormEpsilon: p.batchNormEpsilon)
        network.initialize(using: &generator, dirac: p.diracInit)
        network.convolutionAlgorithm = convolution
        self.main = main
        self.plan = plan
        keep = proxy.keep
    }

    /// The batches of `source` the main network trains on: the proxy runs through its own copy of the whole
    /// stream first (the same seed), and each step's batch becomes the examples it kept.
    func filter(_ source: BatchSource) throws -> FilteredBatches {
        let copy = BatchSource(split: source.loader.split, normalization: source.loader.normalization,
                               hyperparameters: plan.hyperparameters, seed: source.seed)
        return FilteredBatches(source: source, selections: try select(copy))
    }

    /// Runs the proxy through every step's batch of `batches`; returns, per step, the indices (ascending) of the
    /// batch's examples the main network trains on.
    func select(_ batches: BatchSource) throws -> [[Int32]] {
        let step = TrainStep(network: network, hyperparameters: plan.hyperparameters, schedule: plan)
        var losses = [Double](repeating: 0, count: step.batchSize)
        var selections = [[Int32]]()
        selections.reserveCapacity(plan.totalSteps)
        for t in 0..<plan.totalSteps {
            batches.fill(step: t, images: step.images, labels: step.labelPointer)
            _ = try losses.withUnsafeMutableBufferPointer { try step.forwardLoss(perExample: $0.baseAddress!) }
            let kept = Self.highestLosses(losses, keep: keep)
            selections.append(kept)
            if main.proxyTrains(step: t) {
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

/// The main network's batches under proxy filtering: each step's whole batch is staged, then the examples the
/// proxy kept are gathered, in order, into the training batch.
final class FilteredBatches: BatchStream {
    let source: BatchSource
    let selections: [[Int32]]
    let staging: (images: Buffer<Float>, labels: Buffer<Int32>)

    init(source: BatchSource, selections: [[Int32]]) {
        self.source = source
        self.selections = selections
        let batch = source.loader.batchSize
        staging = (Buffer(count: batch * ImageSplit.bytesPerImage, repeating: 0), Buffer(count: batch, repeating: 0))
    }

    func fill(step: Int, images: UnsafeMutablePointer<Float>, labels: UnsafeMutablePointer<Int32>) {
        source.fill(step: step, images: staging.images.pointer, labels: staging.labels.pointer)
        for (position, index) in selections[step].enumerated() {
            (images + position * ImageSplit.bytesPerImage).update(from: staging.images.pointer + Int(index) * ImageSplit.bytesPerImage,
                                                                  count: ImageSplit.bytesPerImage)
            labels[position] = staging.labels.pointer[Int(index)]
        }
    }
}

extension ProxyFilter {
    /// airbench96_faster's data filtering (spec C): a small proxy network trained on the same stream scores every
    /// batch; the main network trains only on the `keep` highest-loss examples of each batch.
    public struct Settings: Sendable, Equatable, Codable {
        /// The proxy's ConvGroup widths (2 convs each, no residual).
        public var widths: Widths = Widths(block1: 32, block2: 64, block3: 64)
        /// Examples of each batch the main network trains on (the highest proxy losses).
        public var keep: Int = 512
        /// The proxy takes an optimizer step every this many batches (it scores every batch).
        public var stepInterval: Int = 4

        public init() {}
    }
}
