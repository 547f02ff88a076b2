import AirbenchData
import AirbenchKernels

/// An airbench network built from a `NetworkSpec` (paper Section 3.1, Listing 4 `make_net`). For
/// `NetworkSpec.airbench94()`:
///
///     0  Conv(3→24, 2×2, no padding, bias)        whitening, weight frozen
///     1  GELU
///     2  ConvGroup(24 → block1)                   conv1 → MaxPool2d(2) → norm1 → GELU → conv2 → norm2 → GELU
///     3  ConvGroup(block1 → block2)
///     4  ConvGroup(block2 → block3)
///     5  MaxPool2d(3)
///     6  Flatten
///     7  Linear(block3 → 10, no bias)
///     8  Mul(1/9)
///
/// Feature maps 32 → 31 → 15 → 7 → 3 → 1. State names and shapes follow the PyTorch `state_dict` of the
/// reference script. Activations are NHWC; a `Workspace` holds them for one batch size.
public final class Network: @unchecked Sendable {
    public let spec: NetworkSpec
    /// Parameters and BatchNorm running statistics.
    public let state: StateBuffer
    /// BatchNorm momentum, paper convention (running = momentum·running + (1 − momentum)·batch).
    public let batchNormMomentum: Double
    public let batchNormEpsilon: Double
    /// The head's output scale (`spec.head.scalingFactor`) in the precision the logits are computed in.
    public let scalingFactor: Float
    /// How the 3×3 convolutions run their three passes (an engine choice, not part of the
    /// method: Winograd differs from direct only by rounding).
    public var convolutionAlgorithm: ConvolutionAlgorithm = .auto
    /// Forward weights packed once for a whole evaluation (set by `infer`, nil otherwise).
    var evaluationPacks: [Int: PackedWeights]?
    /// The buffers the last packs of each convolution's weights went into, reused by the next (`forwardWeights`,
    /// `backwardDataWeights`).
    var packBuffers: [PackKey: FloatBuffer] = [:]
    /// Hears, during `backward`, the operands of each block convolution's three passes (a copy of its input, weights
    /// and output gradient), to measure kernels on real activations (`airbench bench --errors`); nil in training.
    public var convolutionObserver: ((ConvolutionOperands) -> Void)?
    /// Whether each block's max-pool runs fused with its neighbours: forward with conv1 where that is a Winograd
    /// (`Convolution.forwardPooled`), backward with norm1's input gradient (`MaxPool.backward(through:)`); false runs
    /// them as separate passes (the same bits), for `airbench bench --unfused`.
    public var fusesPool = true

    /// A ConvGroup's place in the network: input size and channels, output channels, and its state names.
    struct Block {
        let module: String      // "2", "3", "4" in airbench94
        let inputHeight: Int, inputWidth: Int
        let inputChannels: Int
        let channels: Int
        let convs: Int
        /// airbench96: the first activation is added to the last conv's (`NetworkSpec.ConvGroup`).
        let residual: Bool
        let activationAfterAdd: Bool
        /// After each BatchNorm (`NetworkSpec.ConvGroup.activation`).
        let activation: Activation
        var pooledHeight: Int { inputHeight / 2 }
        var pooledWidth: Int { inputWidth / 2 }
        /// conv1 computes only the part the floor max-pool reads.
        func conv1(batch: Int) -> ConvolutionShape {
            ConvolutionShape(batch: batch, inputHeight: inputHeight, inputWidth: inputWidth, inputChannels: inputChannels,
                             outputChannels: channels, kernelSize: 3, padding: 1,
                             outputHeight: 2 * pooledHeight, outputWidth: 2 * pooledWidth)
        }
        /// conv2, conv3: channels → channels at the pooled size.
        func laterConv(batch: Int) -> ConvolutionShape {
            ConvolutionShape(batch: batch, inputHeight: pooledHeight, inputWidth: pooledWidth, inputChannels: channels,
                             outputChannels: channels, kernelSize: 3, padding: 1)
        }
        /// State names of the k-th (0-based) convolution and BatchNorm: `2.conv1.weight`, `2.norm1`.
        func conv(_ k: Int) -> String { "\(module).conv\(k + 1)" }
        func norm(_ k: Int) -> String { "\(module).norm\(k + 1)" }
        /// The state entries the passes use, resolved once: each conv's weight, each BatchNorm's four.
        var convWeights: [StateEntry] = []
        var norms: [BatchNormEntries] = []
    }

    let blocks: [Block]
    /// The whitening layer's weight and bias, frozen (weight) and trained in the first epochs (bias).
    public let whiteningWeight: StateEntry, whiteningBias: StateEntry
    let headWeight: StateEntry

    /// Builds the network described by `spec` with every state entry at its BatchNorm defaults (weights and
    /// running variances 1, the rest 0); `initialize` draws the parameters.
    /// - Throws: `TrainingError.invalidNetwork` when the engine cannot run `spec`.
    public init(spec: NetworkSpec, batchNormMomentum: Double = 0.6, batchNormEpsilon: Double = 1e-12) throws {
        try spec.validate()
        self.spec = spec
        self.batchNormMomentum = batchNormMomentum
        self.batchNormEpsilon = batchNormEpsilon
        scalingFactor = Float(spec.head.scalingFactor)
        let sizes = spec.groupInputSizes
        var channels = spec.whiteningWidth
        let layout = Self.layout(spec: spec)
        blocks = spec.groups.enumerated().map { i, group in
            defer { channels = group.width }
            var block = Block(module: spec.groupModule(i), inputHeight: sizes[i].height, inputWidth: sizes[i].width,
                              inputChannels: channels, channels: group.width, convs: group.convs,
                              residual: group.residual, activationAfterAdd: group.activationAfterAdd,
                              activation: group.activation)
            block.convWeights = (0..<group.convs).map { layout[block.conv($0) + ".weight"] }
            block.norms = (0..<group.convs).map { BatchNormEntries(layout, block.norm($0)) }
            return block
        }
        headWeight = layout[spec.headModule + ".weight"]
        whiteningWeight = layout[spec.whiteningModule + ".weight"]
        whiteningBias = layout[spec.whiteningModule + ".bias"]
        state = StateBuffer(layout: layout)
        for block in blocks {
            for k in 0..<block.convs {
                state.set(block.norms[k].weight, [Float](repeating: 1, count: block.channels))
                state.set(block.norms[k].runningVar, [Float](repeating: 1, count: block.channels))
            }
        }
    }

    /// airbench94 with the given widths (`NetworkSpec.airbench94`, CIFAR-sized inputs, 10 classes).
    public convenience init(widths: Widths = Widths(), batchNormMomentum: Double = 0.6, batchNormEpsilon: Double = 1e-12,
                            scalingFactor: Double = 1.0 / 9) {
        do {
            try self.init(spec: .airbench94(widths: widths, scalingFactor: scalingFactor),
                          batchNormMomentum: batchNormMomentum, batchNormEpsilon: batchNormEpsilon)
        } catch {
            preconditionFailure("\(error)")  // only non-positive widths or scale can fail; callers validate those
        }
    }

    /// Classes the head predicts.
    public var classes: Int { spec.head.classes }

    /// The state layout, in the reference script's `state_dict` order (without `num_batches_tracked`).
    public static func layout(spec: NetworkSpec) -> StateLayout {
        var layout = StateLayout()
        let whiten = spec.whiteningWidth, k = spec.whiteningLayer.kernelSize
        layout.add(spec.whiteningModule + ".weight", [whiten, spec.input.channels, k, k],
                   spec.whiteningLayer.trainable ? .weight : .frozen)
        layout.add(spec.whiteningModule + ".bias", [whiten], .whitenBias)
        var inputChannels = whiten
        for (i, group) in spec.groups.enumerated() {
            let module = spec.groupModule(i), width = group.width
            for conv in 0..<group.convs {
                let cin = conv == 0 ? inputChannels : width, norm = "\(module).norm\(conv + 1)"
                layout.add("\(module).conv\(conv + 1).weight", [width, cin, 3, 3], .weight)
                layout.add("\(norm).weight", [width], .frozen)
                layout.add("\(norm).bias", [width], .normBias)
                layout.add("\(norm).running_mean", [width], .frozen)
                layout.add("\(norm).running_var", [width], .frozen)
            }
            inputChannels = width
        }
        layout.add("\(spec.headModule).weight", [spec.head.classes, inputChannels], .weight)
        return layout
    }

    /// PyTorch's default initialisation (kaiming-uniform with a = √5, i.e. U(±1/√fan_in)) for every
    /// convolution and the linear layer, convolution biases zero, then `dirac_` on the first in_channels filters
    /// of each convolution (paper Section 3.3). BatchNorm: weight 1, bias 0, running mean 0, variance 1.
    ///
    /// The family's variants: `dirac: false` (the paper's ablation) keeps the default draws; `whitenBias:
    /// .uniform` and `head: .unitStd` are airbench94_muon's plain `nn.Conv2d` bias and unit-std head.
    public func initialize(using generator: inout SeededGenerator, dirac: Bool = true,
                           whitenBias: WhitenBiasInit = .zero, head: HeadInit = .uniform) {
        func kaimingUniform(_ p: UnsafeMutablePointer<Float>, count: Int, fanIn: Int) {
            let bound = 1 / Float(fanIn).squareRoot()
            for i in 0..<count { p[i] = (generator.uniformFloat() * 2 - 1) * bound }
        }
        func kaimingUniform(_ p: UnsafeMutablePointer<Float>, _ entry: StateEntry) {
            kaimingUniform(p, count: entry.count, fanIn: entry.shape.dropFirst().reduce(1, *))
        }
        for entry in state.layout.entries {
            let p = state.pointer(entry)
            switch entry.role {
            case .weight where entry == headWeight:
                kaimingUniform(p, entry)
                if head == .unitStd { Self.scaleToUnitStd(p, count: entry.count) }
            case .weight:
                kaimingUniform(p, entry)
                if dirac { Self.dirac(p, shape: entry.shape) }
            case .frozen where entry == whiteningWeight:
                // Listing 4 initialises the whitening conv like any other before overwriting it with the
                // whitening filters; the draws still advance the generator.
                kaimingUniform(p, entry)
                if dirac { Self.dirac(p, shape: entry.shape) }
            case .frozen:
                let one = entry.name.hasSuffix(".weight") || entry.name.hasSuffix("running_var")
                p.update(repeating: one ? 1 : 0, count: entry.count)
            case .whitenBias where whitenBias == .uniform:
                let k = spec.whiteningLayer.kernelSize
                kaimingUniform(p, count: entry.count, fanIn: spec.input.channels * k * k)
            case .normBias, .whitenBias:
                p.update(repeating: 0, count: entry.count)
            }
        }
    }

    /// `w *= 1 / w.std()` (the unbiased standard deviation, as `torch.std`).
    static func scaleToUnitStd(_ w: UnsafeMutablePointer<Float>, count: Int) {
        let values = UnsafeBufferPointer(start: w, count: count).map(Double.init)
        let mean = values.reduce(0, +) / Double(count)
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(count - 1)
        let scale = Float(1 / variance.squareRoot())
        for i in 0..<count { w[i] *= scale }
    }

    /// `torch.nn.init.dirac_(w[:w.size(1)])`: the first min(out, in) filters become identity maps (1 at the
    /// kernel centre k//2 of their own channel, 0 elsewhere).
    static func dirac(_ w: UnsafeMutablePointer<Float>, shape: [Int]) {
        let (outputs, inputs, k) = (shape[0], shape[1], shape[2])
        let filter = inputs * k * k
        for o in 0..<min(outputs, inputs) {
            (w + o * filter).update(repeating: 0, count: filter)
            w[o * filter + (o * k + k / 2) * k + k / 2] = 1
        }
    }

    /// Parameters as PyTorch counts them (`NetworkSpec.parameterCount`).
    public var parameterCount: Int { spec.parameterCount }

    /// The whitening convolution at batch size `batch`.
    func whiteningShape(batch: Int) -> ConvolutionShape {
        ConvolutionShape(batch: batch, inputHeight: spec.input.height, inputWidth: spec.input.width,
                         inputChannels: spec.input.channels, outputChannels: spec.whiteningWidth,
                         kernelSize: spec.whiteningLayer.kernelSize, padding: 0)
    }

    /// Side of the feature map the final global max-pool reads (square, checked by the spec).
    var finalSide: Int { blocks.last!.pooledHeight }

    /// Forward-pass FLOPs per image as computed here (convolutions and linear layer; conv1 of each block only
    /// over the part its max-pool reads).
    public var forwardFLOPsPerImage: Double {
        convolutionShapes(batch: 1).reduce(0) { $0 + $1.shape.flops } + 2 * Double(classes * blocks.last!.channels)
    }
}


extension Network {
    /// Every convolution with its name (PyTorch module path) and shape, at batch size `batch`.
    public func convolutionShapes(batch: Int) -> [(name: String, shape: ConvolutionShape)] {
        [(spec.whiteningModule, whiteningShape(batch: batch))] + blocks.flatMap { block in
            (0..<block.convs).map { k in
                (block.conv(k), k == 0 ? block.conv1(batch: batch) : block.laterConv(batch: batch))
            }
        }
    }
}

/// A BatchNorm layer's four state entries (`2.norm1.weight`, `.bias`, `.running_mean`, `.running_var`).
struct BatchNormEntries {
    let weight: StateEntry, bias: StateEntry, runningMean: StateEntry, runningVar: StateEntry

    init(_ layout: StateLayout, _ name: String) {
        (weight, bias) = (layout[name + ".weight"], layout[name + ".bias"])
        (runningMean, runningVar) = (layout[name + ".running_mean"], layout[name + ".running_var"])
    }
}
