import AirbenchKernels

/// The one training step of the paper's loop (Listing 4 `main`, inside the epoch loop), shared by `train`,
/// `airbench bench` and the fixture tests: fill the batch → forward → label-smoothed cross-entropy (with the
/// divergence check) → backward → optimizer step (Nesterov SGD, and Muon on the filters when the method says so)
/// → Lookahead when the schedule says a sync is due.
///
/// It owns what a step needs besides the network: the workspace for one batch size, the gradients, the
/// optimizer state and the Lookahead copy.
public final class TrainStep: @unchecked Sendable {
    public let network: Network
    public let workspace: Workspace
    public let gradients: StateBuffer
    public let optimizer: NesterovSGD
    /// Muon on the convolution filters (airbench94_muon); nil leaves them to `optimizer`.
    public let muon: Muon?
    /// The slow weights; nil runs without Lookahead.
    public let lookahead: Lookahead?
    let labels: Buffer<Int32>
    let labelSmoothing: Double
    let schedule: any StepSchedule
    /// Steps done so far; step t (1-based) uses the schedule's factors at t − 1 and then syncs Lookahead if the
    /// schedule says a sync is due after t.
    public private(set) var stepsDone = 0

    /// A step for `network` with label smoothing and optimizers from `h`, on batches of `batch` examples (default
    /// `h.batchSize`; airbench96_faster's main network trains on fewer than the batch size its weight decay is
    /// defined for), with the learning-rate multipliers and Lookahead syncs of `schedule`. With `h.lookahead`
    /// the slow copy is a snapshot of the state *now* (Listing 4 takes it before the whitening initialisation).
    public init(network: Network, hyperparameters h: Hyperparameters, batch: Int? = nil, schedule: any StepSchedule) {
        self.network = network
        let batch = batch ?? h.batchSize
        workspace = network.makeWorkspace(batch: batch)
        gradients = StateBuffer(layout: network.state.layout)
        let muon = h.filterOptimizer == .muon
            ? Muon(layout: network.state.layout, learningRate: h.muonLearningRate, momentum: h.muonMomentum,
                   coefficients: h.muonCoefficients, weightDecay: h.muonDecayPerStep) : nil
        let muonTrains: (StateEntry) -> Bool = muon == nil ? { _ in false } : { Muon.trains($0) }
        optimizer = NesterovSGD(layout: network.state.layout, hyperparameters: h, skip: muonTrains)
        self.muon = muon
        lookahead = h.lookahead ? Lookahead(state: network.state) : nil
        labels = Buffer(count: batch, repeating: 0)
        labelSmoothing = h.labelSmoothing
        self.schedule = schedule
    }

    /// A step of the run `plan` describes.
    public convenience init(network: Network, plan: RunPlan) {
        self.init(network: network, hyperparameters: plan.hyperparameters, batch: plan.examplesPerStep, schedule: plan)
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
        update(whitenBiasTrainable: whitenBiasTrainable)
        return result
    }

    /// Forward, loss and backward of the batch in the buffers, leaving the gradients in `gradients` and the
    /// state's parameters untouched (BatchNorm running statistics do update).
    /// - Throws: `TrainingError.diverged` when the loss is not finite.
    public func forwardBackward(whitenBiasTrainable: Bool) throws -> (loss: Double, correct: Int) {
        let result = try forwardLoss()
        backward(whitenBiasTrainable: whitenBiasTrainable)
        return result
    }

    /// Training-mode forward and the loss: d(loss)/d(logits) is left in the workspace, each example's loss in
    /// `perExample` when given.
    /// - Throws: `TrainingError.diverged` when the loss is not finite.
    public func forwardLoss(perExample: UnsafeMutablePointer<Double>? = nil) throws -> (loss: Double, correct: Int) {
        network.forward(workspace, training: true)
        let (loss, correct) = LabelSmoothedCrossEntropy.evaluate(
            logits: workspace.logits.pointer, labels: labels.pointer, batch: batchSize, classes: network.classes,
            smoothing: labelSmoothing, gradient: workspace.gradientLogitsPointer, perExample: perExample)
        guard loss.isFinite else { throw TrainingError.diverged(step: stepsDone + 1, loss: loss) }
        return (loss, correct)
    }

    /// The backward pass from the loss gradient in the workspace into `gradients`.
    public func backward(whitenBiasTrainable: Bool) {
        network.backward(workspace, gradients: gradients, whitenBiasTrainable: whitenBiasTrainable)
    }

    /// The optimizer step from `gradients` (with this step's schedule factors), then Lookahead when due.
    public func update(whitenBiasTrainable: Bool) {
        let factor = schedule.scheduleFactor(step: stepsDone)
        optimizer.step(state: network.state, gradients: gradients, scheduleFactor: factor,
                       whitenBiasFactor: schedule.whitenBiasFactor(step: stepsDone), whitenBiasTrainable: whitenBiasTrainable)
        muon?.step(state: network.state, gradients: gradients, scheduleFactor: factor,
                   renormalize: schedule.muonRenormalizes(step: stepsDone))
        stepsDone += 1
        if let lookahead, let decay = schedule.lookaheadDecay(afterStep: stepsDone) {
            lookahead.update(state: network.state, decay: decay)
        }
    }

    /// A step that trains nothing (airbench96_faster's proxy between its updates): the schedules move on.
    public func skipUpdate() { stepsDone += 1 }

    /// The end of training (Listing 4: `lookahead_state.update(model, decay=1.0)` at the last step): the
    /// weights become the slow copy.
    public func finishLookahead() {
        lookahead?.update(state: network.state, decay: 1)
    }
}

/// What a training step needs of its run's schedule: `RunPlan` gives a run's; a fixture test gives its own.
public protocol StepSchedule {
    /// The learning-rate multiplier of every group at 0-based step `step`.
    func scheduleFactor(step: Int) -> Double
    /// The whitening bias's own multiplier at `step`, or nil when it follows `scheduleFactor`.
    func whitenBiasFactor(step: Int) -> Double?
    /// The decay Lookahead syncs with after the 1-based step `step`, or nil when no sync is due then.
    func lookaheadDecay(afterStep step: Int) -> Double?
    /// Whether Muon renormalises the filters before the update of 0-based step `step`.
    func muonRenormalizes(step: Int) -> Bool
}

extension RunPlan: StepSchedule {}

/// A schedule given step by step: fixture tests replay PyTorch's, `airbench bench` times steps at one factor.
/// The whitening bias follows the main factor; Lookahead, if given, syncs with one decay every `interval` steps;
/// Muon renormalises at the 0-based steps `renormalize` says (every step by default, as airbench94_muon).
public struct GivenSchedule: StepSchedule {
    public var factor: (Int) -> Double
    public var lookahead: (interval: Int, decay: Double)?
    public var renormalize: (Int) -> Bool

    public init(factor: @escaping (Int) -> Double, lookahead: (interval: Int, decay: Double)? = nil,
                renormalize: @escaping (Int) -> Bool = { _ in true }) {
        self.factor = factor
        self.lookahead = lookahead
        self.renormalize = renormalize
    }

    public func scheduleFactor(step: Int) -> Double { factor(step) }
    public func whitenBiasFactor(step: Int) -> Double? { nil }
    public func lookaheadDecay(afterStep step: Int) -> Double? {
        guard let lookahead, step % lookahead.interval == 0 else { return nil }
        return lookahead.decay
    }
    public func muonRenormalizes(step: Int) -> Bool { renormalize(step) }
}
