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
}

/// Outcome of one training run.
public struct RunResult: Codable, Sendable {
    public var seed: UInt64
    public var validationAccuracy: Double
    public var ttaValidationAccuracy: Double
    public var timeSeconds: Double
    public var epochs: [EpochRecord]
}

public enum TrainingError: Error, CustomStringConvertible, Equatable {
    /// The loss became NaN or infinite.
    case diverged(step: Int, loss: Double)
    /// A hyperparameter combination that cannot run.
    case invalidConfiguration(String)

    public var description: String {
        switch self {
        case .diverged(let step, let loss):
            return "training diverged: loss \(loss) at step \(step) (try a lower --lr or check the data)"
        case .invalidConfiguration(let message): return "invalid configuration: \(message)"
        }
    }
}

/// Trains airbench94 (paper Listing 4 `main`) on `data` and evaluates it with test-time augmentation.
///
/// Every random choice (initialisation, augmentation, order) comes from `seed`: the same seed and the same data
/// give bitwise identical results, whatever the thread count. `progress` receives each epoch's row (with
/// validation accuracy when `evaluateEachEpoch`) and then the final TTA row; `stepDone` hears of every training
/// step. `convolution` chooses how the 3×3 convolutions compute (see `ConvolutionAlgorithm`).
public func train94(data: CIFAR10, hyperparameters h: Hyperparameters94 = Hyperparameters94(), seed: UInt64 = 0,
                    convolution: ConvolutionAlgorithm = .direct, evaluateEachEpoch: Bool = true,
                    stepDone: (StepProgress) -> Void = { _ in },
                    progress: (EpochRecord) -> Void = { _ in }) throws -> (network: Network94, result: RunResult) {
    try validate(h, trainCount: data.train.count)
    var generator = SeededGenerator(seed: seed)
    // Image size and class count come from the data set; the rest of the architecture from the method.
    let spec = NetworkSpec.airbench94(widths: h.widths, input: .cifar, classes: CIFAR10.classNames.count,
                                      outputScale: h.scalingFactor)
    let network = try Network(spec: spec, batchNormMomentum: h.batchNormMomentum, batchNormEpsilon: h.batchNormEpsilon)
    network.initialize(using: &generator)
    network.convolutionAlgorithm = convolution
    let loader = CifarLoader(split: data.train, batchSize: h.batchSize,
                             augmentation: Augmentation(flip: h.flip, translate: h.translate, cutout: h.cutout),
                             shuffle: h.shuffle, dropLast: true, seed: generator.next())
    let totalSteps = Int((Double(loader.batchCount) * h.trainEpochs).rounded(.up))
    let schedule = Schedules.triangle(totalSteps: totalSteps, start: h.scheduleStart, peak: h.schedulePeak, end: h.scheduleEnd)
    let lookaheadDecay = Schedules.lookaheadDecay(totalSteps: totalSteps)
    // Listing 4 takes the Lookahead snapshot before the whitening initialisation; so does TrainStep's init.
    let trainStep = TrainStep(network: network, hyperparameters: h, scheduleFactor: { schedule[$0] },
                              lookaheadDecay: { lookaheadDecay[$0] })
    let testImages = CifarLoader.normalizedImages(data.test)

    var clock = ContinuousClock.now, timed = 0.0
    func stopClock() { timed += seconds(since: clock) }
    // Timing starts at the first access to training data: the whitening initialisation.
    let whiteningSplit = data.train.subset(Array(0..<min(h.whiteningImages, data.train.count)))
    let whiteningImages = CifarLoader.normalizedImages(whiteningSplit)
    let whitening = whiteningImages.withUnsafeBufferPointer {
        Whitening.parameters(images: $0.baseAddress!, count: whiteningSplit.count, epsilon: h.whiteningEpsilon,
                             input: spec.input, kernelSize: spec.whitening.kernelSize)
    }
    network.state.set(Network.whiteningWeight, whitening.weights)
    stopClock()

    var step = 0, records = [EpochRecord]()
    let epochs = Int(h.trainEpochs.rounded(.up))
    for epoch in 0..<epochs {
        clock = .now
        let whitenBiasTrainable = epoch < h.whitenBiasEpochs
        var lastLoss = 0.0, lastCorrect = 0
        loader.startEpoch()
        for batch in 0..<loader.batchCount {
            (lastLoss, lastCorrect) = try trainStep(whitenBiasTrainable: whitenBiasTrainable) { images, labels in
                _ = loader.fillBatch(batch, images: images, labels: labels)
            }
            step = trainStep.stepsDone
            let epochSeconds = seconds(since: clock)
            stepDone(StepProgress(step: step, totalSteps: totalSteps, epoch: epoch, stepInEpoch: batch + 1,
                                  stepsPerEpoch: loader.batchCount, batchSize: h.batchSize,
                                  timeSeconds: timed + epochSeconds, epochSeconds: epochSeconds))
            if step >= totalSteps {
                trainStep.finishLookahead()
                break
            }
        }
        stopClock()
        var record = EpochRecord(epoch: epoch, trainLoss: lastLoss / Double(h.batchSize),
                                 trainAccuracy: Double(lastCorrect) / Double(h.batchSize), timeSeconds: timed)
        if evaluateEachEpoch {
            record.validationAccuracy = testImages.withUnsafeBufferPointer {
                network.evaluate(images: $0.baseAddress!, labels: data.test.labels, ttaLevel: 0)
            }
        }
        records.append(record)
        progress(record)
    }

    clock = .now
    let finalImages = CifarLoader.normalizedImages(data.test)
    let ttaAccuracy = finalImages.withUnsafeBufferPointer {
        network.evaluate(images: $0.baseAddress!, labels: data.test.labels, ttaLevel: h.ttaLevel)
    }
    stopClock()
    let validation = records.last?.validationAccuracy ?? testImages.withUnsafeBufferPointer {
        network.evaluate(images: $0.baseAddress!, labels: data.test.labels, ttaLevel: 0)
    }
    let final = EpochRecord(epoch: nil, validationAccuracy: validation, ttaValidationAccuracy: ttaAccuracy,
                            timeSeconds: timed)
    records.append(final)
    progress(final)
    return (network, RunResult(seed: seed, validationAccuracy: validation, ttaValidationAccuracy: ttaAccuracy,
                               timeSeconds: timed, epochs: records))
}

/// A short run on synthetic data so that the first timed run does not pay for first-touch page faults and
/// thread start-up (the paper's warm-up run, Section 2; on a CPU a few steps suffice).
public func warmup94(hyperparameters h: Hyperparameters94 = Hyperparameters94(), convolution: ConvolutionAlgorithm = .direct,
                     steps: Int = 3) throws {
    var warm = h
    warm.trainEpochs = Double(steps)
    warm.ttaLevel = 0
    warm.whiteningImages = min(h.whiteningImages, 2 * h.batchSize)
    let data = CIFAR10(train: .synthetic(count: h.batchSize, seed: 1), test: .synthetic(count: 100, seed: 2))
    _ = try train94(data: data, hyperparameters: warm, seed: 0, convolution: convolution, evaluateEachEpoch: false)
}

func validate(_ h: Hyperparameters94, trainCount: Int) throws {
    if h.batchSize < 2 { throw TrainingError.invalidConfiguration("batch size \(h.batchSize) must be at least 2") }
    if trainCount < h.batchSize {
        throw TrainingError.invalidConfiguration(
            "batch size \(h.batchSize) exceeds the \(trainCount) training images (the last partial batch is dropped)")
    }
    if !(h.trainEpochs > 0) { throw TrainingError.invalidConfiguration("epochs must be positive, got \(h.trainEpochs)") }
    if !(0...2).contains(h.ttaLevel) { throw TrainingError.invalidConfiguration("TTA level must be 0, 1 or 2") }
    if h.widths.array.contains(where: { $0 < 1 }) { throw TrainingError.invalidConfiguration("widths must be positive") }
}

func seconds(since start: ContinuousClock.Instant) -> Double { (ContinuousClock.now - start).seconds }

extension Duration {
    /// The duration in seconds.
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
