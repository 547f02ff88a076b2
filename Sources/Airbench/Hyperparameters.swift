import AirbenchData

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

/// Every hyperparameter of airbench94 (paper Listing 4, `hyp`), with the paper's values as defaults.
///
/// Learning rate and weight decay use the paper's decoupled parametrisation: they are per 1,024 examples and
/// independent of momentum (Listing 4 converts them to PyTorch SGD's values; so does `NesterovSGD`).
public struct Hyperparameters94: Sendable, Equatable, Codable {
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
    /// Multiplies the learning rate (not the weight decay) of the BatchNorm biases.
    public var biasScaler: Double = 64
    /// Label smoothing of the cross-entropy loss.
    public var labelSmoothing: Double = 0.2
    /// Epochs during which the whitening layer's bias trains; frozen afterwards.
    public var whitenBiasEpochs: Int = 3
    /// Horizontal flip augmentation (the paper's alternating flip by default).
    public var flip: FlipMode = .alternating
    /// Random translation in pixels (reflection padding).
    public var translate: Int = 2
    /// Cutout square size in pixels; 0 = off (airbench96 uses 12).
    public var cutout: Int = 0
    /// Block widths.
    public var widths: Widths = Widths()
    /// BatchNorm momentum in the paper's convention: running = momentum·running + (1 − momentum)·batch.
    public var batchNormMomentum: Double = 0.6
    /// BatchNorm epsilon.
    public var batchNormEpsilon: Double = 1e-12
    /// The network's output is multiplied by this.
    public var scalingFactor: Double = 1.0 / 9
    /// Test-time augmentation level of the final evaluation: 0 none, 1 mirror, 2 mirror + translate.
    public var ttaLevel: Int = 2
    /// Lookahead: every this many steps, with decay 0.95^5 · (step / total)^3.
    public var lookaheadInterval: Int = 5
    /// Triangular learning-rate schedule: factor at step 0, where it peaks (fraction of training), at the end.
    public var scheduleStart: Double = 0.2
    public var schedulePeak: Double = 0.23
    public var scheduleEnd: Double = 0.07
    /// Shuffle the training set every epoch (random reshuffling).
    public var shuffle: Bool = true
    /// Images whose 2×2 patches initialise the whitening layer (the first ones of the training set).
    public var whiteningImages: Int = 5000
    /// Added to the patch-covariance eigenvalues in the whitening initialisation.
    public var whiteningEpsilon: Double = 5e-4

    public init() {}
}
