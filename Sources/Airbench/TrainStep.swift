import AirbenchKernels

/// The one training step of the paper's loop (Listing 4 `main`, inside the epoch loop), shared by `train94`,
/// `airbench bench` and the fixture tests: fill the batch → forward → label-smoothed cross-entropy (with the
/// divergence check) → backward → Nesterov SGD step → Lookahead when due (every `lookaheadInterval` steps).
///
/// It owns what a step needs besides the network: the workspace for one batch size, the gradients, the
/// momentum buffers and the Lookahead copy.
public final class TrainStep: @unchecked Sendable {
    public let network: Network
    public let workspace: Workspace
    public let gradients: StateBuffer
    public let optimizer: NesterovSGD
    /// The slow weights; nil runs without Lookahead.
    public let lookahead: Lookahead?
    let labels: Buffer<Int32>
    let labelSmoothing: Double
    let lookaheadInterval: Int
    let scheduleFactor: (Int) -> Double
    let lookaheadDecay: (Int) -> Double
    /// Steps done so far; step t (1-based) uses `scheduleFactor(t − 1)` and, when t is a multiple of the
    /// interval, syncs Lookahead with `lookaheadDecay(t)`.
    public private(set) var stepsDone = 0

    /// A step for `network` with batch size, label smoothing, optimizer and Lookahead interval from `h`.
    /// `lookaheadDecay` nil runs without Lookahead; otherwise the slow copy is a snapshot of the state *now*
    /// (Listing 4 takes it before the whitening initialisation).
    public init(network: Network, hyperparameters h: Hyperparameters94, scheduleFactor: @escaping (Int) -> Double,
                lookaheadDecay: ((Int) -> Double)?) {
        self.network = network
        workspace = network.makeWorkspace(batch: h.batchSize)
        gradients = StateBuffer(layout: network.state.layout)
        optimizer = NesterovSGD(layout: network.state.layout, hyperparameters: h)
        lookahead = lookaheadDecay.map { _ in Lookahead(state: network.state) }
        labels = Buffer(count: h.batchSize, repeating: 0)
        labelSmoothing = h.labelSmoothing
        lookaheadInterval = h.lookaheadInterval
        self.scheduleFactor = scheduleFactor
        self.lookaheadDecay = lookaheadDecay ?? { _ in 0 }
    }

    public var batchSize: Int { workspace.batch }
    /// The batch's images (batch × height × width × channels, normalised) and labels, for `fill` to write.
    public var images: UnsafeMutablePointer<Float> { workspace.inputPointer }
    public var labelPointer: UnsafeMutablePointer<Int32> { labels.pointer }

    /// One full step. `fill` writes the batch into the given image and label buffers (the default keeps the
    /// batch already there). Returns the summed loss and the number of correct predictions of the batch.
    /// - Throws: `TrainingError.diverged` when the loss is not finite (before anything is updated).
    @discardableResult
    public func callAsFunction(whitenBiasTrainable: Bool,
                               fill: (_ images: UnsafeMutablePointer<Float>, _ labels: UnsafeMutablePointer<Int32>) -> Void
                                   = { _, _ in }) throws -> (loss: Double, correct: Int) {
        fill(images, labels.pointer)
        let result = try forwardBackward(whitenBiasTrainable: whitenBiasTrainable)
        optimizer.step(state: network.state, gradients: gradients, scheduleFactor: scheduleFactor(stepsDone),
                       whitenBiasTrainable: whitenBiasTrainable)
        stepsDone += 1
        if let lookahead, stepsDone % lookaheadInterval == 0 {
            lookahead.update(state: network.state, decay: lookaheadDecay(stepsDone))
        }
        return result
    }

    /// Forward, loss and backward of the batch in the buffers, leaving the gradients in `gradients` and the
    /// state's parameters untouched (BatchNorm running statistics do update).
    /// - Throws: `TrainingError.diverged` when the loss is not finite.
    public func forwardBackward(whitenBiasTrainable: Bool) throws -> (loss: Double, correct: Int) {
        network.forward(workspace, training: true)
        let (loss, correct) = LabelSmoothedCrossEntropy.evaluate(
            logits: workspace.logits.pointer, labels: labels.pointer, batch: batchSize, classes: network.classes,
            smoothing: labelSmoothing, gradient: workspace.gradientLogitsPointer)
        guard loss.isFinite else { throw TrainingError.diverged(step: stepsDone + 1, loss: loss) }
        network.backward(workspace, gradients: gradients, whitenBiasTrainable: whitenBiasTrainable)
        return (loss, correct)
    }

    /// The end of training (Listing 4: `lookahead_state.update(model, decay=1.0)` at the last step): the
    /// weights become the slow copy.
    public func finishLookahead() {
        lookahead?.update(state: network.state, decay: 1)
    }
}
