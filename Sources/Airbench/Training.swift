import AirbenchData
import AirbenchKernels
import Foundation

/// One row of the paper's per-epoch table.
public struct EpochRecord: Codable, Sendable, Equatable {
    /// 0-based epoch, or nil for the final TTA evaluation row.
    public var epoch: Int?
    /// Loss per example and accuracy of the epoch's last training batch.
    public var trainLoss: Double?
    public var trainAccuracy: Double?
    /// Test accuracy without TTA (measured after the epoch, not timed).
    public var validationAccuracy: Double?
    /// Test accuracy with TTA (final row only).
    public var ttaValidationAccuracy: Double?
    /// Timed seconds so far (paper Section 2: from the first access to training data, excluding the
    /// per-epoch evaluations).
    public var timeSeconds: Double
}

/// Where a run stands after a training step, for progress displays.
public struct StepProgress: Sendable, Equatable {
    /// Steps done in the run, of `totalSteps`.
    public var step: Int, totalSteps: Int
    /// 0-based epoch; steps done in it, of `stepsPerEpoch`.
    public var epoch: Int, stepInEpoch: Int, stepsPerEpoch: Int
    public var batchSize: Int
    /// Timed seconds of the run so far (the paper's clock) and of this epoch so far.
    public var timeSeconds: Double, epochSeconds: Double

    /// Where a run of `plan` stands once its 0-based step `step` is done.
    init(plan: RunPlan, step: Int, timeSeconds: Double, epochSeconds: Double) {
        let epoch = step / plan.stepsPerEpoch
        self.init(step: step + 1, totalSteps: plan.totalSteps, epoch: epoch, stepInEpoch: step - epoch * plan.stepsPerEpoch + 1,
                  stepsPerEpoch: plan.stepsPerEpoch, batchSize: plan.examplesPerStep, timeSeconds: timeSeconds,
                  epochSeconds: epochSeconds)
    }

    public init(step: Int, totalSteps: Int, epoch: Int, stepInEpoch: Int, stepsPerEpoch: Int, batchSize: Int,
                timeSeconds: Double, epochSeconds: Double) {
        (self.step, self.totalSteps, self.epoch, self.stepInEpoch) = (step, totalSteps, epoch, stepInEpoch)
        (self.stepsPerEpoch, self.batchSize, self.timeSeconds, self.epochSeconds) = (stepsPerEpoch, batchSize, timeSeconds, epochSeconds)
    }
}

/// Outcome of one training run.
public struct RunResult: Codable, Sendable {
    public var seed: UInt64
    public var validationAccuracy: Double
    /// The accuracy the method reports: its TTA level's, or with selective TTA (hiverge) the selective one.
    public var ttaValidationAccuracy: Double
    /// With selective TTA, the accuracy of the TTA level's weighted views on every image, from the same network
    /// (computed after the clock stops); nil otherwise.
    public var fullTTAValidationAccuracy: Double?
    public var timeSeconds: Double
    public var epochs: [EpochRecord]
    /// The trained network's test logits (count × classes) at TTA levels 0 through the method's level (each
    /// level's views are among the highest level's). Not written to logs.
    public var finalLogits: [[Float]] = []
    /// Selective TTA's choice and logits (hiverge), nil without it. Not written to logs.
    public var selectiveTTA: SelectiveTTA?

    enum CodingKeys: String, CodingKey {
        case seed, validationAccuracy, ttaValidationAccuracy, fullTTAValidationAccuracy, timeSeconds, epochs
    }

    /// The result of a run whose epochs gave `records` and whose final evaluation gave `finalLogits` (levels
    /// 0...ttaLevel) and `selectiveTTA`: the final row (the reported TTA accuracy; the last epoch's accuracy
    /// without TTA, or level 0's when the epochs were not evaluated) is appended to the epochs.
    init(seed: UInt64, records: [EpochRecord], finalLogits: [[Float]], selectiveTTA: SelectiveTTA?, labels: [UInt8],
         network: Network, ttaLevel: Int, timeSeconds: Double) {
        let full = network.accuracy(logits: finalLogits[ttaLevel], labels: labels)
        let tta = selectiveTTA.map { network.accuracy(logits: $0.logits, labels: labels) } ?? full
        let validation = records.last?.validationAccuracy ?? network.accuracy(logits: finalLogits[0], labels: labels)
        self.seed = seed
        validationAccuracy = validation
        ttaValidationAccuracy = tta
        fullTTAValidationAccuracy = selectiveTTA == nil ? nil : full
        self.timeSeconds = timeSeconds
        epochs = records + [EpochRecord(epoch: nil, validationAccuracy: validation, ttaValidationAccuracy: tta,
                                        timeSeconds: timeSeconds)]
        self.finalLogits = finalLogits
        self.selectiveTTA = selectiveTTA
    }
}

/// The run's clock (the paper's Section 2): it runs from the first access to training data to the test
/// predictions, stopped for the per-epoch evaluations. Starts running.
struct RunClock {
    private var started: ContinuousClock.Instant? = .now
    /// Seconds timed before the current lap.
    private(set) var total = 0.0

    /// Seconds of the current lap (0 while stopped).
    var lap: Double { started.map { (ContinuousClock.now - $0).seconds } ?? 0 }
    /// Seconds timed in all, the current lap included.
    var elapsed: Double { total + lap }

    mutating func start() { started = .now }

    mutating func stop() {
        total += lap
        started = nil
    }
}

/// Trains the method `h` describes (paper Listing 4 `main` and the family's scripts) on `data` and evaluates it
/// with test-time augmentation.
///
/// Every random choice (initialisation, augmentation, order) comes from `seed`: the same seed and the same data
/// give bitwise identical results, whatever the thread count. `progress` receives each epoch's row (with
/// validation accuracy when `evaluateEachEpoch`) and then the final TTA row; `stepDone` hears of every training
/// step. `convolution` chooses how the 3×3 convolutions compute (see `ConvolutionAlgorithm`).
///
/// Timing (the paper's Section 2): the whitening initialisation, the proxy's pass (airbench96_faster), every
/// training step and the final TTA evaluation (with selective TTA: the plain view and the selected images'
/// views); not the per-epoch evaluations, nor the full TTA that selective TTA is reported beside.
public func train(data: Dataset, hyperparameters h: Hyperparameters = Hyperparameters(), seed: UInt64 = 0,
                  convolution: ConvolutionAlgorithm = .auto, evaluateEachEpoch: Bool = true,
                  stepDone: (StepProgress) -> Void = { _ in },
                  progress: (EpochRecord) -> Void = { _ in }) throws -> (network: Network, result: RunResult) {
    try validate(h, data: data)
    let plan = RunPlan(h, trainImages: data.train.count)
    var generator = SeededGenerator(seed: seed)
    let network = try Network(h, classes: data.classCount, convolution: convolution, generator: &generator)
    let source = BatchSource(split: data.train, normalization: data.normalization, hyperparameters: h, seed: generator.next())
    let proxy = try ProxyFilter(filtering: plan, classes: data.classCount, convolution: convolution, generator: &generator)
    let step = TrainStep(network: network, plan: plan)  // Listing 4 snapshots Lookahead before the whitening init
    let testImages = CifarLoader.normalizedImages(data.test, normalization: data.normalization)
    var clock = RunClock()  // the paper's timing (Section 2): from the first access to training data
    if h.whitening { Whitening.initialize([network] + [proxy?.network].compactMap { $0 }, data: data, hyperparameters: h) }
    let batches: BatchStream = try proxy?.filter(source) ?? source  // airbench96_faster: the proxy's choice
    clock.stop()
    var records = [EpochRecord]()
    for epoch in 0..<plan.epochs {
        clock.start()
        var last = (loss: 0.0, correct: 0)
        for t in plan.steps(ofEpoch: epoch) {
            last = try step(whitenBiasTrainable: plan.whitenBiasTrains(step: t)) { batches.fill(step: t, images: $0, labels: $1) }
            stepDone(StepProgress(plan: plan, step: t, timeSeconds: clock.elapsed, epochSeconds: clock.lap))
        }
        if epoch == plan.epochs - 1 { step.finishLookahead() }
        clock.stop()
        var record = EpochRecord(epoch: epoch, trainLoss: last.loss / Double(step.batchSize),
                                 trainAccuracy: Double(last.correct) / Double(step.batchSize), timeSeconds: clock.total)
        if evaluateEachEpoch {
            record.validationAccuracy = network.evaluate(testImages, labels: data.test.labels, mirror: data.mirrorable,
                                                         workspace: step.workspace)
        }
        records.append(record)
        progress(record)
    }
    // The evaluations run in the training step's workspace, idle between steps (no second set of buffers).
    clock.start()
    let selecting = plan.ttaSelected(testImages: data.test.count)
    var finalLogits = network.inferLevels(selecting == nil ? Array(0...h.ttaLevel) : [0], testImages, mirror: data.mirrorable,
                                          workspace: step.workspace)
    let selective = selecting.map {
        network.selectiveTTA(plainLogits: finalLogits[0], images: testImages, selecting: $0, level: h.ttaLevel,
                             mirror: data.mirrorable, workspace: step.workspace)
    }
    clock.stop()
    if selective != nil && h.ttaLevel > 0 {  // the full TTA beside the selective one, untimed
        finalLogits += network.inferLevels(Array(1...h.ttaLevel), testImages, mirror: data.mirrorable, workspace: step.workspace)
    }
    let result = RunResult(seed: seed, records: records, finalLogits: finalLogits, selectiveTTA: selective,
                           labels: data.test.labels, network: network, ttaLevel: h.ttaLevel, timeSeconds: clock.total)
    progress(result.epochs.last!)
    return (network, result)
}

/// A short run on synthetic data so that the first timed run does not pay for first-touch page faults and
/// thread start-up (the paper's warm-up run, Section 2; on a CPU a few steps suffice).
public func warmup(hyperparameters h: Hyperparameters = Hyperparameters(), convolution: ConvolutionAlgorithm = .auto,
                   steps: Int = 3) throws {
    var warm = h
    warm.trainEpochs = Double(steps)
    warm.ttaLevel = 0
    warm.whiteningImages = min(h.whiteningImages, 2 * h.batchSize)
    let data = Dataset(cifar10: CIFAR10(train: .synthetic(count: h.batchSize, seed: 1), test: .synthetic(count: 100, seed: 2)))
    _ = try train(data: data, hyperparameters: warm, seed: 0, convolution: convolution, evaluateEachEpoch: false)
}

extension Network {
    /// The network `h` trains, for `classes` classes, initialised from `generator` (dirac, whitening bias and
    /// head as the method says) and computing its convolutions with `convolution`.
    public convenience init(_ h: Hyperparameters, classes: Int, convolution: ConvolutionAlgorithm = .auto,
                            generator: inout SeededGenerator) throws {
        try self.init(spec: h.networkSpec(input: .cifar, classes: classes), batchNormMomentum: h.batchNormMomentum,
                      batchNormEpsilon: h.batchNormEpsilon)
        initialize(using: &generator, dirac: h.diracInit, whitenBias: h.whitenBiasInit, head: h.headInit)
        convolutionAlgorithm = convolution
    }
}

/// `Hyperparameters.validate`, then what depends on the data.
func validate(_ h: Hyperparameters, data: Dataset) throws {
    try h.validate(classes: data.classCount)
    if data.train.count < h.batchSize {
        throw TrainingError.invalidConfiguration(
            "batch size \(h.batchSize) exceeds the \(data.train.count) training images (the last partial batch is dropped)")
    }
}

extension Duration {
    /// The duration in seconds.
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
