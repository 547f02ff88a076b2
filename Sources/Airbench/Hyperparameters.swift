import AirbenchData
import AirbenchKernels

/// Block widths of the airbench network (output channels of the three ConvGroups).
public struct Widths: Sendable, Equatable, Codable {
    public var block1: Int
    public var block2: Int
    public var block3: Int

    public init(block1: Int = 64, block2: Int = 256, block3: Int = 256) {
        self.block1 = block1
        self.block2 = block2
        self.block3 = block3
    }

    public var array: [Int] { [block1, block2, block3] }
}

/// Which optimizer trains the convolution filters (the rest is always Nesterov SGD).
public enum FilterOptimizer: String, Sendable, Equatable, Codable, CaseIterable {
    /// Decoupled-unit Nesterov SGD, as every other parameter (airbench94/95/96).
    case sgd
    /// Muon: momentum, then the update orthogonalised by Newton–Schulz (the airbench94_muon record).
    case muon
}

/// How the whitening layer's bias learning rate changes over the steps it trains.
public enum WhitenBiasSchedule: String, Sendable, Equatable, Codable, CaseIterable {
    /// The network's schedule (airbench94: the triangle).
    case main
    /// Its own linear decay from its full rate to 0 at the step it freezes (airbench94_muon).
    case linearToFreeze
}

/// How the whitening bias starts.
public enum WhitenBiasInit: String, Sendable, Equatable, Codable, CaseIterable {
    /// Zero (the `Conv` class of airbench94/95/96).
    case zero
    /// PyTorch's `nn.Conv2d` default, U(±1/√fan_in) (airbench94_muon's plain `nn.Conv2d`).
    case uniform
}

/// How the linear head starts.
public enum HeadInit: String, Sendable, Equatable, Codable, CaseIterable {
    /// PyTorch's `nn.Linear` default, U(±1/√fan_in).
    case uniform
    /// That, then divided by its standard deviation (airbench94_muon: `w *= 1 / w.std()`).
    case unitStd
}

/// The order in which an epoch visits the training images (paper Table 1).
public typealias DataOrder = CifarLoader.Order

/// Every hyperparameter of a training method of the airbench family, with airbench94's values (paper Listing 4,
/// `hyp`) as defaults. `Method` holds the other presets.
///
/// Learning rate and weight decay use the paper's decoupled parametrisation: they are per 1,024 examples and
/// independent of momentum (Listing 4 converts them to PyTorch SGD's values; so does `NesterovSGD`).
public struct Hyperparameters: Sendable, Equatable, Codable {
    /// The preset these values started from (recorded in logs and model files).
    public var method: String = "airbench94"

    // MARK: Training length and optimizer
    /// Training length in epochs; fractional epochs end mid-epoch (9.9 ⇒ ceil(48 · 9.9) = 476 steps).
    public var trainEpochs: Double = 9.9
    /// Examples per step.
    public var batchSize: Int = 1024
    /// Learning rate per 1,024 examples, decoupled from momentum.
    public var learningRate: Double = 11.5
    /// Nesterov momentum.
    public var momentum: Double = 0.85
    /// Weight decay per 1,024 examples, decoupled from the learning rate.
    public var weightDecay: Double = 0.0153
    /// Multiplies the learning rate (not the weight decay) of the BatchNorm biases ("scalebias", Section 3.4).
    public var biasScaler: Double = 64
    /// Multiplies the learning rate of the whitening bias (1: the base rate, as in Listing 4).
    public var whitenBiasScaler: Double = 1
    /// Label smoothing of the cross-entropy loss.
    public var labelSmoothing: Double = 0.2
    /// Optimizer of the 3×3 convolution filters.
    public var filterOptimizer: FilterOptimizer = .sgd
    /// Muon's learning rate and Nesterov momentum (used with `filterOptimizer == .muon`).
    public var muonLearningRate: Double = 0.24
    public var muonMomentum: Double = 0.6
    /// Newton–Schulz's coefficients: airbench94_muon's or hiverge's.
    public var muonCoefficients: NewtonSchulz.Coefficients = .muon
    /// When Muon resets each filter's norm to √out: every step (airbench94_muon) or at hiverge's adaptive interval.
    public var muonRenormalization: Muon.Renormalization = .everyStep
    /// Muon's decoupled weight decay per 1,024 examples: after each update W ← W·(1 − lr·d) with lr the step's Muon
    /// rate and d = `muonDecayPerStep` = muonWeightDecay · batchSize/1024 (hiverge: 1.0418e-6 per example, so
    /// 0.0010668 here and d = 0.0016002 at its batch of 1,536); 0 = none.
    public var muonWeightDecay: Double = 0
    /// Muon's decay per step (`muonWeightDecay`), following the batch size as hiverge's wd = 1.0418e-6 · batch.
    public var muonDecayPerStep: Double { muonWeightDecay * Double(batchSize) / 1024 }
    /// Learning-rate schedule, piecewise linear through (0, start), (⌊peak·T⌋, 1), (T, end) (`Schedules.triangle`):
    /// airbench94's triangle 0.2/0.23/0.07; warm-up then linear to zero is 0.2/0.1/0; linear decay is 1/0/0.
    public var scheduleStart: Double = 0.2
    public var schedulePeak: Double = 0.23
    public var scheduleEnd: Double = 0.07
    /// Lookahead (Section 3.4): every `lookaheadInterval` steps, with decay 0.95^5 · (step / total)^3.
    public var lookahead: Bool = true
    public var lookaheadInterval: Int = 5

    // MARK: Whitening layer
    /// The frozen patch-whitening initialisation (Section 3.2); false trains the first conv like any other.
    public var whitening: Bool = true
    /// Epochs during which the whitening layer's bias trains (steps before ceil(epochs · steps per epoch));
    /// frozen afterwards. nil: never frozen (airbench96_faster as its script runs).
    public var whitenBiasEpochs: Double? = 3
    public var whitenBiasSchedule: WhitenBiasSchedule = .main
    public var whitenBiasInit: WhitenBiasInit = .zero
    /// Images whose 2×2 patches initialise the whitening layer (the first ones of the training set).
    public var whiteningImages: Int = 5000
    /// Added to the patch-covariance eigenvalues in the whitening initialisation.
    public var whiteningEpsilon: Double = 5e-4

    // MARK: Network
    /// Block widths.
    public var widths: Widths = Widths()
    /// The activation inside the ConvGroups (the one after the whitening layer is always GELU): GELU, or SiLU
    /// (hiverge).
    public var groupActivation: Activation = .gelu
    /// Convolutions per ConvGroup: 2 (airbench94/95) or 3 (airbench96).
    public var convsPerGroup: Int = 2
    /// A residual across the later convs of each group (airbench96), with the GELU before or after the add.
    public var residual: Bool = false
    public var activationAfterAdd: Bool = false
    /// Identity (dirac) initialisation of the first in_channels filters of each conv (Section 3.3).
    public var diracInit: Bool = true
    /// BatchNorm momentum in the paper's convention: running = momentum·running + (1 − momentum)·batch.
    public var batchNormMomentum: Double = 0.6
    /// BatchNorm epsilon.
    public var batchNormEpsilon: Double = 1e-12
    /// The network's output is multiplied by this; nil divides by the last group's width (airbench94_muon).
    public var scalingFactor: Double? = 1.0 / 9
    public var headInit: HeadInit = .uniform
    /// State names: the `nn.Sequential` keys of airbench94/95/96 or airbench94_muon's `CifarNet` keys.
    public var moduleNames: NetworkSpec.Naming = .sequential

    // MARK: Data
    /// Horizontal flip augmentation (the paper's alternating flip by default).
    public var flip: FlipMode = .alternating
    /// Random translation in pixels (reflection padding).
    public var translate: Int = 2
    /// Cutout square size in pixels; 0 = off (airbench96 uses 12).
    public var cutout: Int = 0
    /// hiverge's brightness/contrast jitter in normalised space, after the crop and flip: each image of each
    /// epoch becomes (x + b)·k with b ~ U(±brightnessJitter) and k ~ U(1 ± contrastJitter), one pair per image
    /// for all its pixels and channels, no clamping; the test images are never jittered. 0 and 0 = off.
    public var brightnessJitter: Double = 0
    public var contrastJitter: Double = 0
    /// The order of the training images in each epoch.
    public var order: DataOrder = .reshuffle
    /// Batches run on across epoch boundaries (airbench96_faster's endless loader) instead of dropping the
    /// last partial batch of each epoch.
    public var batchesSpanEpochs: Bool = false
    /// airbench96_faster's proxy data filtering; nil trains on whole batches.
    public var proxy: ProxyFilter.Settings? = nil

    // MARK: Evaluation
    /// Test-time augmentation level of the final evaluation: 0 none, 1 mirror, 2 mirror + translate.
    public var ttaLevel: Int = 2
    /// hiverge's selective TTA: the fraction of the test images, the least confident by the plain view's top
    /// softmax probability, that get the mean of the level's views with equal weights; the others keep the plain
    /// view. 1: every image gets the level's weighted views (the paper's TTA).
    public var ttaSelect: Double = 1

    public init() {}

    /// The network these hyperparameters train, for inputs of `input` and `classes` classes.
    public func networkSpec(input: NetworkSpec.Input = .cifar, classes: Int = 10) -> NetworkSpec {
        let groups = widths.array.map {
            NetworkSpec.ConvGroup(width: $0, convs: convsPerGroup, residual: residual,
                                  activationAfterAdd: residual && activationAfterAdd, activation: groupActivation)
        }
        return NetworkSpec(name: method, input: input,
                           whiteningLayer: .init(kernelSize: 2, trainable: !whitening),
                           groups: groups,
                           head: .init(classes: classes, scalingFactor: scalingFactor ?? 1 / Double(widths.block3)),
                           naming: moduleNames)
    }
}


extension Hyperparameters {
    /// Decodes every field by its name. The fields added since results and logs were first written (hiverge's
    /// options) take their default value (the old behaviour) when absent; any other missing field is an error.
    public init(from decoder: any Decoder) throws {
        self.init()
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func required<T: Decodable>(_ key: CodingKeys, _ value: inout T) throws {
            value = try container.decode(T.self, forKey: key)
        }
        func optional<T: Decodable>(_ key: CodingKeys, _ value: inout T?) throws {
            value = try container.decodeIfPresent(T.self, forKey: key)
        }
        func added<T: Decodable>(_ key: CodingKeys, _ value: inout T) throws {
            value = try container.decodeIfPresent(T.self, forKey: key) ?? value
        }
        try required(.method, &method)
        try required(.trainEpochs, &trainEpochs)
        try required(.batchSize, &batchSize)
        try required(.learningRate, &learningRate)
        try required(.momentum, &momentum)
        try required(.weightDecay, &weightDecay)
        try required(.biasScaler, &biasScaler)
        try required(.whitenBiasScaler, &whitenBiasScaler)
        try required(.labelSmoothing, &labelSmoothing)
        try required(.filterOptimizer, &filterOptimizer)
        try required(.muonLearningRate, &muonLearningRate)
        try required(.muonMomentum, &muonMomentum)
        try added(.muonCoefficients, &muonCoefficients)
        try added(.muonRenormalization, &muonRenormalization)
        try added(.muonWeightDecay, &muonWeightDecay)
        try required(.scheduleStart, &scheduleStart)
        try required(.schedulePeak, &schedulePeak)
        try required(.scheduleEnd, &scheduleEnd)
        try required(.lookahead, &lookahead)
        try required(.lookaheadInterval, &lookaheadInterval)
        try required(.whitening, &whitening)
        try optional(.whitenBiasEpochs, &whitenBiasEpochs)
        try required(.whitenBiasSchedule, &whitenBiasSchedule)
        try required(.whitenBiasInit, &whitenBiasInit)
        try required(.whiteningImages, &whiteningImages)
        try required(.whiteningEpsilon, &whiteningEpsilon)
        try required(.widths, &widths)
        try added(.groupActivation, &groupActivation)
        try required(.convsPerGroup, &convsPerGroup)
        try required(.residual, &residual)
        try required(.activationAfterAdd, &activationAfterAdd)
        try required(.diracInit, &diracInit)
        try required(.batchNormMomentum, &batchNormMomentum)
        try required(.batchNormEpsilon, &batchNormEpsilon)
        try optional(.scalingFactor, &scalingFactor)
        try required(.headInit, &headInit)
        try required(.moduleNames, &moduleNames)
        try required(.flip, &flip)
        try required(.translate, &translate)
        try required(.cutout, &cutout)
        try added(.brightnessJitter, &brightnessJitter)
        try added(.contrastJitter, &contrastJitter)
        try required(.order, &order)
        try required(.batchesSpanEpochs, &batchesSpanEpochs)
        try optional(.proxy, &proxy)
        try required(.ttaLevel, &ttaLevel)
        try added(.ttaSelect, &ttaSelect)
    }
}
