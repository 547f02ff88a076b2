/// Everything a run derives from its hyperparameters and the size of its training set, computed in this one
/// place: its length in steps and loader epochs, the optimizers' rates in the units they use, the learning-rate
/// multipliers of each step, the step the whitening bias freezes at, Lookahead's cadence and decay, the steps
/// Muon renormalises at, the steps the proxy trains at (airbench96_faster), the TTA views, the images selective
/// TTA picks (hiverge) and the FLOPs. `train`, `TrainStep`, the proxy,
/// `airbench bench`, `airbench methods` and `collect` all read it.
public struct RunPlan: Sendable {
    public let hyperparameters: Hyperparameters
    /// Training images, and the whole batches of them in one loader epoch (the last partial batch is dropped).
    public let trainImages: Int
    public let stepsPerEpoch: Int
    /// ⌈stepsPerEpoch · epochs⌉ optimizer steps: fractional epochs end mid-epoch (airbench94: ⌈48 · 9.9⌉ = 476).
    public let totalSteps: Int
    /// The whitening bias trains during the 0-based steps 0..<whitenBiasSteps: ⌈whitenBiasEpochs ·
    /// stepsPerEpoch⌉, or every step when it is never frozen (nil) or freezes after the end.
    public let whitenBiasSteps: Int
    /// Nesterov SGD's rates in PyTorch's units (Listing 4's conversion of the decoupled values).
    public let rates: SGDRates
    /// The 1-based steps before whose update Muon renormalises the filters: all (airbench94_muon) or hiverge's
    /// adaptive ones (`Schedules.adaptiveRenormalization`; 37 of hiverge's 243).
    public let muonRenormalizationSteps: [Int]
    private let muonRenormalizationSet: Set<Int>

    public init(_ h: Hyperparameters, trainImages: Int) {
        hyperparameters = h
        self.trainImages = trainImages
        stepsPerEpoch = trainImages / h.batchSize
        totalSteps = Int((Double(stepsPerEpoch) * h.trainEpochs).rounded(.up))
        let frozenAt = (h.whitenBiasEpochs ?? .infinity) * Double(stepsPerEpoch)
        whitenBiasSteps = frozenAt >= Double(totalSteps) ? totalSteps : Int(frozenAt.rounded(.up))
        rates = SGDRates(h)
        switch h.muonRenormalization {
        case .everyStep: muonRenormalizationSteps = Array(stride(from: 1, through: totalSteps, by: 1))
        case .adaptive: muonRenormalizationSteps = Schedules.adaptiveRenormalization(totalSteps: totalSteps)
        }
        muonRenormalizationSet = Set(muonRenormalizationSteps)
    }

    // MARK: Length

    /// Loader epochs the steps reach into (the last may be cut short).
    public var epochs: Int { (totalSteps + stepsPerEpoch - 1) / stepsPerEpoch }

    /// The 0-based steps of loader epoch `epoch`.
    public func steps(ofEpoch epoch: Int) -> Range<Int> {
        epoch * stepsPerEpoch..<min(totalSteps, (epoch + 1) * stepsPerEpoch)
    }

    /// Examples the main network trains on at each step (airbench96_faster: those the proxy keeps).
    public var examplesPerStep: Int { hyperparameters.proxy?.keep ?? hyperparameters.batchSize }

    // MARK: Schedules

    /// The learning-rate multiplier of every group at 0-based step `step` (0...totalSteps): the method's
    /// piecewise-linear schedule (`Schedules.triangle`).
    public func scheduleFactor(step: Int) -> Double {
        let h = hyperparameters
        return Schedules.triangle(step: step, totalSteps: totalSteps, start: h.scheduleStart, peak: h.schedulePeak,
                                  end: h.scheduleEnd)
    }

    /// Whether the whitening bias trains at 0-based step `step`.
    public func whitenBiasTrains(step: Int) -> Bool { step < whitenBiasSteps }

    /// The whitening bias's own multiplier at `step` (airbench94_muon: linear from 1 to 0 at its freeze), or nil
    /// when it follows the main schedule.
    public func whitenBiasFactor(step: Int) -> Double? {
        switch hyperparameters.whitenBiasSchedule {
        case .main: return nil
        case .linearToFreeze:
            guard whitenBiasSteps > 0 else { return 0 }
            return Schedules.triangle(step: min(step, whitenBiasSteps), totalSteps: whitenBiasSteps, start: 1, peak: 0, end: 0)
        }
    }

    /// Lookahead (Section 3.4): after the 1-based step `step`, the decay it syncs with when a sync is due (every
    /// `lookaheadInterval` steps), else nil; always nil without Lookahead. The last step's sync with decay 1 is
    /// `TrainStep.finishLookahead`.
    public func lookaheadDecay(afterStep step: Int) -> Double? {
        let h = hyperparameters
        guard h.lookahead, step % h.lookaheadInterval == 0 else { return nil }
        return Schedules.lookaheadDecay(step: step, totalSteps: totalSteps)
    }

    /// Whether Muon renormalises the filters before the update of 0-based step `step` (Muon's t = step + 1).
    public func muonRenormalizes(step: Int) -> Bool { muonRenormalizationSet.contains(step + 1) }

    // MARK: Proxy filtering (airbench96_faster)

    /// Whether the proxy trains at 0-based step `step` (it scores every batch; it trains on every
    /// `stepInterval`-th, the first included).
    public func proxyTrains(step: Int) -> Bool {
        guard let proxy = hyperparameters.proxy else { return false }
        return step % proxy.stepInterval == 0
    }

    /// Steps at which the proxy trains: ⌈totalSteps / stepInterval⌉ (0 without a proxy).
    public var proxyUpdates: Int {
        guard let proxy = hyperparameters.proxy else { return 0 }
        return (totalSteps + proxy.stepInterval - 1) / proxy.stepInterval
    }

    /// The proxy network's plan: the same steps and schedule (it trains on the same stream).
    public var proxyPlan: RunPlan? {
        hyperparameters.proxyHyperparameters.map { RunPlan($0, trainImages: trainImages) }
    }

    // MARK: Evaluation and cost

    /// Test-time views per image: 1, 2 (mirror) or 6 (mirror × three translations) at TTA level 0, 1, 2;
    /// without mirrored views (SVHN) 1, 1 or 3.
    public func ttaViews(mirror: Bool = true) -> Int { TTA.views(level: hyperparameters.ttaLevel, mirror: mirror).count }

    /// hiverge's selective TTA: how many of `testImages` get the level's views (`TTA.selectedCount`: 2,500 of
    /// 10,000 at 0.25); nil when every image gets them (`ttaSelect` 1, the paper's TTA).
    public func ttaSelected(testImages: Int) -> Int? {
        TTA.selectedCount(fraction: hyperparameters.ttaSelect, testImages: testImages)
    }

    /// Image forward passes of the final evaluation: every view of every image, or with selective TTA the plain
    /// view of every image and the views of those selected (hiverge: 10,000 + 6 · 2,500 = 25,000).
    public func ttaForwards(testImages: Int, mirror: Bool = true) -> Int {
        guard let selected = ttaSelected(testImages: testImages) else { return ttaViews(mirror: mirror) * testImages }
        return testImages + ttaViews(mirror: mirror) * selected
    }

    /// What the run costs, counted as the family's scripts count it (spec D.2): 3 forward passes per trained
    /// example, the proxy's scoring of every batch and its training steps, one forward pass per TTA forward
    /// (`ttaForwards`).
    public func cost(testImages: Int = 10_000, classes: Int = 10, mirror: Bool = true) -> RunCost {
        let h = hyperparameters
        let forward = h.networkSpec(classes: classes).referenceForwardFLOPsPerImage
        var proxyFLOPs = 0.0
        if let p = h.proxyHyperparameters {
            let proxyForward = p.networkSpec(classes: classes).referenceForwardFLOPsPerImage
            // Every batch is scored (one forward pass); every interval-th also trains (two more passes).
            proxyFLOPs = proxyForward * Double(h.batchSize) * Double(totalSteps + 2 * proxyUpdates)
        }
        return RunCost(steps: totalSteps, examplesPerStep: examplesPerStep, forwardFLOPsPerImage: forward,
                       trainingFLOPs: 3 * forward * Double(totalSteps * examplesPerStep), proxyFLOPs: proxyFLOPs,
                       evaluationFLOPs: forward * Double(ttaForwards(testImages: testImages, mirror: mirror)))
    }

    /// A whole run's time from measured pieces (`airbench bench`): `stepSeconds` per training step while the
    /// whitening bias trains (the first `whitenBiasSteps`) and `frozenStepSeconds` per step after it freezes (no
    /// backward-data pass into the first block: `Network.backward`; nil: the same), the proxy's
    /// `proxyScoringSeconds` per scoring-only step and `proxyStepSeconds` per scoring-and-training step, and
    /// `evaluationSecondsPerView` per image forward of the final evaluation (`ttaForwards`).
    public func timeEstimate(stepSeconds: Double, frozenStepSeconds: Double? = nil, proxyScoringSeconds: Double = 0,
                             proxyStepSeconds: Double = 0, evaluationSecondsPerView: Double, testImages: Int = 10_000,
                             mirror: Bool = true) -> RunTimeEstimate {
        let training = stepSeconds * Double(whitenBiasSteps)
            + (frozenStepSeconds ?? stepSeconds) * Double(totalSteps - whitenBiasSteps)
        let proxy = proxyScoringSeconds * Double(totalSteps - proxyUpdates) + proxyStepSeconds * Double(proxyUpdates)
        let evaluation = evaluationSecondsPerView * Double(ttaForwards(testImages: testImages, mirror: mirror))
        return RunTimeEstimate(epochSeconds: training / Double(max(totalSteps, 1)) * Double(stepsPerEpoch), proxySeconds: proxy,
                               evaluationSeconds: evaluation, totalSeconds: training + proxy + evaluation)
    }
}

/// A run's time estimated from measured step and evaluation times (`RunPlan.timeEstimate`).
public struct RunTimeEstimate: Sendable, Equatable, Codable {
    /// One loader epoch of training steps (of the run's mean step: the first epochs, while the whitening bias
    /// trains, take longer); the proxy's pass over the whole run (airbench96_faster, else 0); the final TTA
    /// evaluation; the whole run.
    public var epochSeconds: Double, proxySeconds: Double, evaluationSeconds: Double, totalSeconds: Double
}

/// Nesterov SGD's rates in PyTorch's units, from the paper's decoupled values (Listing 4 `main`): with
/// kilostep = 1024·(1 + 1/(1 − momentum)), the weights' lr = learningRate/kilostep, the BatchNorm biases'
/// lr·biasScaler, the whitening bias's lr·whitenBiasScaler, and the weight decay per step
/// weightDecay·batchSize/kilostep. What the reference scripts pass to `torch.optim.SGD`.
public struct SGDRates: Sendable, Equatable {
    public var weights: Double, normBiases: Double, whitenBias: Double, decayPerStep: Double

    /// The examples per unit of the decoupled rates at `momentum`: 1024 examples, times Nesterov momentum's
    /// amplification 1 + 1/(1 − momentum).
    public static func kilostep(momentum: Double) -> Double { 1024 * (1 + 1 / (1 - momentum)) }

    public init(_ h: Hyperparameters) {
        let kilostep = Self.kilostep(momentum: h.momentum)
        weights = h.learningRate / kilostep
        normBiases = weights * h.biasScaler
        whitenBias = weights * h.whitenBiasScaler
        decayPerStep = h.weightDecay * Double(h.batchSize) / kilostep
    }
}
