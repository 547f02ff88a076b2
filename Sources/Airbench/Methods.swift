import AirbenchData

/// The training methods of the airbench family as named presets: each is a `Hyperparameters` value (spec
/// `airbench-family.md`, sections 0, A, B, C and D'), every field of which a user may override.
public struct Method: Sendable, Equatable {
    /// The preset's name, as `airbench train NAME` takes it.
    public var name: String
    /// One line: where the method comes from and what it reaches.
    public var summary: String
    /// Published accuracy, time and FLOPs, as the spec records them.
    public var published: String
    public var hyperparameters: Hyperparameters
    /// The data set the preset is for (the paper's Table 5 presets); nil: any, CIFAR-10 by default.
    public var dataset: DatasetSelection? = nil

    /// Every method of the family, in order of size.
    public static let all: [Method] = [airbench93, airbench94, airbench94Hiverge, airbench94Muon, airbench95,
                                       airbench96, airbench96June2024, airbench96Faster]

    /// The methods and then the paper's Table 5 presets: every name `airbench train` takes.
    public static let allWithPresets: [Method] = all + table5

    /// The method or Table 5 preset named `name`, or nil.
    public static func named(_ name: String) -> Method? { allWithPresets.first { $0.name == name } }

    /// airbench94 (paper Listing 4; `legacy/airbench94.py`): every default of `Hyperparameters`.
    public static let airbench94 = Method(
        name: "airbench94", summary: "the paper's Listing 4: 94% in 9.9 epochs",
        published: "94.01% (n=1000), 3.83 s on an A100, 0.36 PFLOPs", hyperparameters: Hyperparameters())

    /// The pip package's `train93`: widths 64/128/128, 11 epochs, otherwise airbench94.
    public static let airbench93: Method = {
        var h = Hyperparameters()
        h.method = "airbench93"
        h.widths = Widths(block1: 64, block2: 128, block3: 128)
        h.trainEpochs = 11
        return Method(name: "airbench93", summary: "the pip package's train93: narrower, 11 epochs",
                      published: "93.00% (n=50)", hyperparameters: h)
    }()

    /// airbench95 (`legacy/airbench95.py`, spec A.1): widths 128/384/384, 15 epochs, lr 10.
    public static let airbench95: Method = {
        var h = Hyperparameters()
        h.method = "airbench95"
        h.widths = Widths(block1: 128, block2: 384, block3: 384)
        h.trainEpochs = 15
        h.learningRate = 10
        return Method(name: "airbench95", summary: "wider, 15 epochs, lr × 0.87",
                      published: "95.01% (n=200), 10.4 s on an A100, 1.39 PFLOPs", hyperparameters: h)
    }()

    /// airbench96 as in the paper (`31ce2de:airbench96.py`, spec A.2): 3-conv residual groups (GELU before the
    /// add), widths 128/512/512, 40 epochs, lr 9, translate 4, Cutout 12.
    public static let airbench96: Method = {
        var h = Hyperparameters()
        h.method = "airbench96"
        h.widths = Widths(block1: 128, block2: 512, block3: 512)
        h.convsPerGroup = 3
        h.residual = true
        h.trainEpochs = 40
        h.learningRate = 9
        h.translate = 4
        h.cutout = 12
        return Method(name: "airbench96", summary: "the paper's Section 4: residual 3-conv groups, Cutout, 40 epochs",
                      published: "96.05% (n=200), 46.3 s on an A100, 7.2 PFLOPs (paper) / 7.46 (script)", hyperparameters: h)
    }()

    /// The repository's June-2024 airbench96 (`legacy/airbench96.py` at HEAD, spec A.3): GELU after the add,
    /// warm-up 10% then linear to 0, weight decay 0.012, BatchNorm momentum PyTorch's 0.1, widths 128/384/512,
    /// 37 epochs.
    public static let airbench96June2024: Method = {
        var h = airbench96.hyperparameters
        h.method = "airbench96_2024"
        h.activationAfterAdd = true
        h.scheduleStart = 0.2
        h.schedulePeak = 0.1
        h.scheduleEnd = 0
        h.weightDecay = 0.012
        h.batchNormMomentum = 0.9
        h.widths = Widths(block1: 128, block2: 384, block3: 512)
        h.trainEpochs = 37
        return Method(name: "airbench96_2024", summary: "the repository's June-2024 airbench96: GELU after the add, new schedule",
                      published: "96.03% (n=400), 34.7 s on an A100, 4.91 PFLOPs", hyperparameters: h)
    }()

    /// airbench94_muon (spec B): batch 2000, 8 epochs, Muon on the filters (lr 0.24, momentum 0.6), SGD at
    /// PyTorch lr 0.67 (head) and 0.053 (biases) with 2e-6 weight decay per example, linear decay to 0, no
    /// Lookahead, the whitening bias on its own schedule for 3 epochs, head ÷ 256 with unit-std init,
    /// `CifarNet` state names.
    public static let airbench94Muon: Method = {
        var h = Hyperparameters()
        h.method = "airbench94_muon"
        h.batchSize = 2000
        h.trainEpochs = 8
        h.filterOptimizer = .muon
        h.muonLearningRate = 0.24
        h.muonMomentum = 0.6
        // The record's SGD values are PyTorch's; in the decoupled units (kilostep = 1024·(1 + 1/(1 − 0.85))):
        // head lr 0.67 = learningRate/kilostep, biases 0.053 = that × scaler, weight decay 2e-6 per example.
        let kilostep = SGDRates.kilostep(momentum: h.momentum)
        h.learningRate = 0.67 * kilostep
        h.biasScaler = 0.053 / 0.67
        h.whitenBiasScaler = 0.053 / 0.67
        h.weightDecay = 2e-6 * kilostep
        h.scheduleStart = 1
        h.schedulePeak = 0
        h.scheduleEnd = 0
        h.lookahead = false
        h.whitenBiasSchedule = .linearToFreeze
        h.whitenBiasInit = .uniform
        h.scalingFactor = nil
        h.headInit = .unitStd
        h.moduleNames = .cifarNet
        return Method(name: "airbench94_muon", summary: "the 2.59 s record: Muon on the filters, batch 2000, 8 epochs",
                      published: "94.01% (n=200), 2.59 s on an A100, 0.29 PFLOPs", hyperparameters: h)
    }()

    /// hiverge's 2025 record (`hiverge/cifar10-speedrun` at 5cd49b1, spec `airbench-hiverge.md`): airbench94_muon
    /// re-tuned, with SiLU in the ConvGroups, a brightness/contrast jitter, Muon with new Newton–Schulz
    /// coefficients, renormalisation at an adaptive interval and decoupled weight decay, and selective TTA on the
    /// least confident quarter of the test set. Every value from the spec's table (§0); the record's fp16
    /// Newton–Schulz and BatchNorm are not emulated (fp32 here, or bf16 products).
    public static let airbench94Hiverge: Method = {
        var h = airbench94Muon.hyperparameters
        h.method = "airbench94_hiverge"
        h.batchSize = 1536
        h.trainEpochs = 7.59                      // T = ⌈7.59 · 32⌉ = 243 steps of 32 per loader epoch
        h.labelSmoothing = 0.09
        h.groupActivation = .silu
        h.whiteningImages = 960
        h.whitenBiasEpochs = 0.19                 // ⌈0.19 · 32⌉ = 7 steps, on its own linear decay
        h.batchNormMomentum = 0.5566              // PyTorch momentum 0.4434
        // SGD in PyTorch's units, converted to the decoupled ones as for airbench94_muon: head lr 0.5415, whitening
        // and BatchNorm biases 0.0573, weight decay 1.0418e-6 per example (wd/lr per group), Nesterov 0.825.
        h.momentum = 0.825
        let kilostep = SGDRates.kilostep(momentum: h.momentum), decayPerExample = 1.0418e-6
        h.learningRate = 0.5415 * kilostep
        h.biasScaler = 0.0573 / 0.5415
        h.whitenBiasScaler = 0.0573 / 0.5415
        h.weightDecay = decayPerExample * kilostep
        h.muonLearningRate = 0.205
        h.muonMomentum = 0.655
        h.muonCoefficients = .hiverge
        h.muonRenormalization = .adaptive
        h.muonWeightDecay = decayPerExample * 1024  // per 1,024 examples: 0.0016002 per step at 1,536, not ÷ the rate
        h.brightnessJitter = 0.1399
        h.contrastJitter = 0.1308
        h.ttaSelect = 0.25
        return Method(name: "airbench94_hiverge",
                      summary: "hiverge's 2025 record: re-tuned airbench94_muon with SiLU, jitter, adaptive Muon, selective TTA",
                      published: "94.01% (n=2000), 2.015 s on an A100, 0.270 PFLOPs", hyperparameters: h)
    }()

    /// airbench96_faster (spec C): the June-2024 airbench96 network, 45 epochs over an endless stream of 1024
    /// batches of which a 32/64/64 proxy keeps the 512 highest-loss examples. As the script runs by default, the
    /// main network's whitening bias is never frozen (its freeze test can never be true); `whitenBiasEpochs 3`
    /// gives the intended variant.
    public static let airbench96Faster: Method = {
        var h = airbench96June2024.hyperparameters
        h.method = "airbench96_faster"
        h.trainEpochs = 45
        h.whitenBiasEpochs = nil
        h.batchesSpanEpochs = true
        h.proxy = ProxyFilter.Settings()
        return Method(name: "airbench96_faster", summary: "airbench96_2024 trained on the half of each batch a small proxy finds hardest",
                      published: "96.00% (n=200), 27.3 s on an A100, 3.1 PFLOPs", hyperparameters: h)
    }()
}

extension Hyperparameters {
    /// The hyperparameters of the preset `name`.
    public init?(method name: String) {
        guard let method = Method.named(name) else { return nil }
        self = method.hyperparameters
    }

    /// airbench96_faster's proxy network as a method of its own: the proxy's widths, 2-conv groups without a
    /// residual, no Lookahead, no proxy; everything else (optimizer, schedule, BatchNorm, data) shared. nil
    /// without proxy filtering.
    public var proxyHyperparameters: Hyperparameters? {
        guard let proxy else { return nil }
        var p = self
        p.method = method + " proxy"
        p.widths = proxy.widths
        p.convsPerGroup = 2
        p.residual = false
        p.activationAfterAdd = false
        p.lookahead = false
        p.proxy = nil
        return p
    }
}
