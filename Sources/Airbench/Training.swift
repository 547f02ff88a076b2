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
    /// The trained network's test logits (count × classes) at TTA levels 0 through the method's level, from the
    /// one timed final evaluation (each level's views are among the highest level's). Not written to logs.
    public var finalLogits: [[Float]] = []

    enum CodingKeys: String, CodingKey { case seed, validationAccuracy, ttaValidationAccuracy, timeSeconds, epochs }
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

/// Trains the method `h` describes (paper Listing 4 `main` and the family's scripts) on `data` and evaluates it
/// with test-time augmentation.
///
/// Every random choice (initialisation, augmentation, order) comes from `seed`: the same seed and the same data
/// give bitwise identical results, whatever the thread count. `progress` receives each epoch's row (with
/// validation accuracy when `evaluateEachEpoch`) and then the final TTA row; `stepDone` hears of every training
/// step. `convolution` chooses how the 3×3 convolutions compute (see `ConvolutionAlgorithm`).
///
/// Timing (the paper's Section 2): the whitening initialisation, the proxy's pass (airbench96_faster), every
/// training step and the final TTA evaluation; not the per-epoch evaluations.
public func train(data: Dataset, hyperparameters h: Hyperparameters = Hyperparameters(), seed: UInt64 = 0,
                  convolution: ConvolutionAlgorithm = .auto, evaluateEachEpoch: Bool = true,
                  stepDone: (StepProgress) -> Void = { _ in },
                  progress: (EpochRecord) -> Void = { _ in }) throws -> (network: Network, result: RunResult) {
    try validate(h, trainCount: data.train.count)
    var generator = SeededGenerator(seed: seed)
    // Image size and class count come from the data set; the rest of the architecture from the method.
    let spec = h.networkSpec(input: .cifar, classes: data.classCount)
    let network = try Network(spec: spec, batchNormMomentum: h.batchNormMomentum, batchNormEpsilon: h.batchNormEpsilon)
    network.initialize(using: &generator, dirac: h.diracInit, whitenBias: h.whitenBiasInit, head: h.headInit)
    network.convolutionAlgorithm = convolution
    let batches = BatchSource(split: data.train, normalization: data.normalization, hyperparameters: h,
                              seed: generator.next())
    let totalSteps = Int((Double(batches.stepsPerEpoch) * h.trainEpochs).rounded(.up))
    let schedules = GroupSchedules(h, totalSteps: totalSteps, stepsPerEpoch: batches.stepsPerEpoch)
    let proxy = try h.proxyHyperparameters.map { try ProxyFilter($0, selecting: h.proxy!, classes: spec.head.classes,
                                                                 convolution: convolution, generator: &generator) }
    // Listing 4 takes the Lookahead snapshot before the whitening initialisation; so does TrainStep's init.
    let trainStep = TrainStep(network: network, hyperparameters: h, batch: h.proxy?.keep, schedules: schedules)
    let testImages = CifarLoader.normalizedImages(data.test, normalization: data.normalization)

    var clock = ContinuousClock.now, timed = 0.0
    func stopClock() { timed += seconds(since: clock) }
    // Timing starts at the first access to training data: the whitening initialisation.
    if h.whitening {
        let whiteningSplit = data.train.subset(Array(0..<min(h.whiteningImages, data.train.count)))
        let whiteningImages = CifarLoader.normalizedImages(whiteningSplit, normalization: data.normalization)
        let whitening = whiteningImages.withUnsafeBufferPointer {
            Whitening.parameters(images: $0.baseAddress!, count: whiteningSplit.count, epsilon: h.whiteningEpsilon,
                                 input: spec.input, kernelSize: spec.whitening.kernelSize)
        }
        network.state.set(network.whiteningWeight, whitening.weights)
        proxy?.network.state.set(proxy!.network.whiteningWeight, whitening.weights)
    }
    // airbench96_faster: the proxy runs through the whole stream first and picks each batch's examples.
    let selections = try proxy?.select(totalSteps: totalSteps, schedules: schedules,
                                       batches: BatchSource(split: data.train, normalization: data.normalization,
                                                                          hyperparameters: h, seed: batches.seed))
    stopClock()

    var records = [EpochRecord](), lastLoss = 0.0, lastCorrect = 0
    let epochs = (totalSteps + batches.stepsPerEpoch - 1) / batches.stepsPerEpoch
    let staging = proxy.map { _ in
        (images: Buffer<Float>(count: h.batchSize * spec.input.pixels, repeating: 0),
         labels: Buffer<Int32>(count: h.batchSize, repeating: 0))
    }
    for epoch in 0..<epochs {
        clock = .now
        let steps = epoch * batches.stepsPerEpoch..<min(totalSteps, (epoch + 1) * batches.stepsPerEpoch)
        for step in steps {
            (lastLoss, lastCorrect) = try trainStep(whitenBiasTrainable: step < schedules.whitenBiasSteps) { images, labels in
                if let staging, let selections {  // the proxy's choice out of the whole batch
                    batches.fill(step: step, images: staging.images.pointer, labels: staging.labels.pointer)
                    gather(selections[step], from: staging.images.pointer, labels: staging.labels.pointer,
                           pixels: spec.input.pixels, into: images, labels)
                } else {
                    batches.fill(step: step, images: images, labels: labels)
                }
            }
            let epochSeconds = seconds(since: clock)
            stepDone(StepProgress(step: step + 1, totalSteps: totalSteps, epoch: epoch,
                                  stepInEpoch: step - steps.lowerBound + 1, stepsPerEpoch: batches.stepsPerEpoch,
                                  batchSize: trainStep.batchSize, timeSeconds: timed + epochSeconds,
                                  epochSeconds: epochSeconds))
        }
        if steps.upperBound == totalSteps { trainStep.finishLookahead() }
        stopClock()
        let batch = Double(trainStep.batchSize)
        var record = EpochRecord(epoch: epoch, trainLoss: lastLoss / batch, trainAccuracy: Double(lastCorrect) / batch,
                                 timeSeconds: timed)
        if evaluateEachEpoch {
            record.validationAccuracy = testImages.withUnsafeBufferPointer {
                network.evaluate(images: $0.baseAddress!, labels: data.test.labels, ttaLevel: 0, mirror: data.mirrorable)
            }
        }
        records.append(record)
        progress(record)
    }

    clock = .now
    let finalLogits = testImages.withUnsafeBufferPointer {
        network.inferLevels(Array(0...h.ttaLevel), images: $0.baseAddress!, count: data.test.count, mirror: data.mirrorable)
    }
    stopClock()
    let ttaAccuracy = network.accuracy(logits: finalLogits[h.ttaLevel], labels: data.test.labels)
    let validation = records.last?.validationAccuracy ?? network.accuracy(logits: finalLogits[0], labels: data.test.labels)
    let final = EpochRecord(epoch: nil, validationAccuracy: validation, ttaValidationAccuracy: ttaAccuracy,
                            timeSeconds: timed)
    records.append(final)
    progress(final)
    return (network, RunResult(seed: seed, validationAccuracy: validation, ttaValidationAccuracy: ttaAccuracy,
                               timeSeconds: timed, epochs: records, finalLogits: finalLogits))
}

/// Trains airbench94 (paper Listing 4 `main`): `train` with airbench94's hyperparameters by default.
public func train94(data: Dataset, hyperparameters h: Hyperparameters94 = Hyperparameters94(), seed: UInt64 = 0,
                    convolution: ConvolutionAlgorithm = .auto, evaluateEachEpoch: Bool = true,
                    stepDone: (StepProgress) -> Void = { _ in },
                    progress: (EpochRecord) -> Void = { _ in }) throws -> (network: Network94, result: RunResult) {
    try train(data: data, hyperparameters: h, seed: seed, convolution: convolution,
              evaluateEachEpoch: evaluateEachEpoch, stepDone: stepDone, progress: progress)
}

/// Copies the examples `indices` (in that order) of a staged batch into the training batch.
func gather(_ indices: [Int32], from images: UnsafePointer<Float>, labels: UnsafePointer<Int32>, pixels: Int,
            into outImages: UnsafeMutablePointer<Float>, _ outLabels: UnsafeMutablePointer<Int32>) {
    for (position, index) in indices.enumerated() {
        (outImages + position * pixels).update(from: images + Int(index) * pixels, count: pixels)
        outLabels[position] = labels[Int(index)]
    }
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

/// `warmup` with airbench94's hyperparameters by default.
public func warmup94(hyperparameters h: Hyperparameters94 = Hyperparameters94(), convolution: ConvolutionAlgorithm = .auto,
                     steps: Int = 3) throws {
    try warmup(hyperparameters: h, convolution: convolution, steps: steps)
}

/// `Hyperparameters.validate`, then what depends on the data.
func validate(_ h: Hyperparameters, trainCount: Int) throws {
    if let problem = h.problems().first { throw TrainingError.invalidConfiguration(problem.description) }
    if trainCount < h.batchSize {
        throw TrainingError.invalidConfiguration(
            "batch size \(h.batchSize) exceeds the \(trainCount) training images (the last partial batch is dropped)")
    }
}

func seconds(since start: ContinuousClock.Instant) -> Double { (ContinuousClock.now - start).seconds }

extension Duration {
    /// The duration in seconds.
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
