import AirbenchData
import AirbenchKernels

/// The airbench94 network (paper Section 3.1, Listing 4 `make_net`):
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
/// Feature maps 32 → 31 → 15 → 7 → 3 → 1. State names and shapes follow the PyTorch `state_dict` of Listing 4.
/// Activations are NHWC; a `Workspace` holds them for one batch size.
public final class Network94: @unchecked Sendable {
    public let widths: Widths
    /// Parameters and BatchNorm running statistics.
    public let state: StateBuffer
    /// BatchNorm momentum, paper convention (running = momentum·running + (1 − momentum)·batch).
    public let batchNormMomentum: Double
    public let batchNormEpsilon: Double
    public let scalingFactor: Float
    /// How the 3×3 convolutions run their forward and backward-data passes (an engine choice, not part of the
    /// method: Winograd differs from direct only by rounding).
    public var convolutionAlgorithm: ConvolutionAlgorithm = .direct
    /// Forward weights packed once for a whole evaluation (set by `infer`, nil otherwise).
    var evaluationPacks: [String: PackedWeights]?

    static let whitenWidth = 24
    static let classes = 10

    /// A ConvGroup's place in the network: input side and channels, output channels.
    struct Block {
        let name: String        // "2", "3", "4"
        let inputSide: Int      // square feature map entering conv1
        let inputChannels: Int
        let channels: Int
        var pooledSide: Int { inputSide / 2 }
        /// conv1 computes only the part the floor max-pool reads.
        func conv1(batch: Int) -> ConvolutionShape {
            ConvolutionShape(batch: batch, inputHeight: inputSide, inputWidth: inputSide, inputChannels: inputChannels,
                             outputChannels: channels, kernelSize: 3, padding: 1,
                             outputHeight: 2 * pooledSide, outputWidth: 2 * pooledSide)
        }
        func conv2(batch: Int) -> ConvolutionShape {
            ConvolutionShape(batch: batch, inputHeight: pooledSide, inputWidth: pooledSide, inputChannels: channels,
                             outputChannels: channels, kernelSize: 3, padding: 1)
        }
    }

    let blocks: [Block]

    public init(widths: Widths = Widths(), batchNormMomentum: Double = 0.6, batchNormEpsilon: Double = 1e-12,
                scalingFactor: Double = 1.0 / 9) {
        self.widths = widths
        self.batchNormMomentum = batchNormMomentum
        self.batchNormEpsilon = batchNormEpsilon
        self.scalingFactor = Float(scalingFactor)
        var blocks = [Block]()
        var side = 31, channels = Self.whitenWidth
        for (i, width) in widths.array.enumerated() {
            blocks.append(Block(name: "\(i + 2)", inputSide: side, inputChannels: channels, channels: width))
            side /= 2
            channels = width
        }
        precondition(side == 3, "airbench94 expects 32×32 inputs")
        self.blocks = blocks
        state = StateBuffer(layout: Self.layout(widths: widths))
        for block in blocks {
            for norm in ["norm1", "norm2"] {
                state.set("\(block.name).\(norm).weight", [Float](repeating: 1, count: block.channels))
                state.set("\(block.name).\(norm).running_var", [Float](repeating: 1, count: block.channels))
            }
        }
    }

    /// The state layout, in `state_dict` order of Listing 4 (without `num_batches_tracked`).
    public static func layout(widths: Widths) -> StateLayout {
        var layout = StateLayout()
        layout.add("0.weight", [whitenWidth, 3, 2, 2], .frozen)
        layout.add("0.bias", [whitenWidth], .whitenBias)
        var inputChannels = whitenWidth
        for (i, width) in widths.array.enumerated() {
            for (conv, norm, cin) in [("conv1", "norm1", inputChannels), ("conv2", "norm2", width)] {
                layout.add("\(i + 2).\(conv).weight", [width, cin, 3, 3], .weight)
                layout.add("\(i + 2).\(norm).weight", [width], .frozen)
                layout.add("\(i + 2).\(norm).bias", [width], .normBias)
                layout.add("\(i + 2).\(norm).running_mean", [width], .frozen)
                layout.add("\(i + 2).\(norm).running_var", [width], .frozen)
            }
            inputChannels = width
        }
        layout.add("7.weight", [classes, widths.block3], .weight)
        return layout
    }

    /// PyTorch's default initialisation (kaiming-uniform with a = √5, i.e. U(±1/√fan_in)) for every
    /// convolution and the linear layer, convolution biases zero, then `dirac_` on the first in_channels filters
    /// of each convolution (paper Section 3.3). BatchNorm: weight 1, bias 0, running mean 0, variance 1.
    public func initialize(using generator: inout SeededGenerator) {
        for entry in state.layout.entries {
            let p = state.pointer(entry)
            switch entry.role {
            case .weight:
                let fanIn = entry.shape.dropFirst().reduce(1, *)
                let bound = 1 / Float(fanIn).squareRoot()
                for i in 0..<entry.count { p[i] = (generator.uniformFloat() * 2 - 1) * bound }
                if entry.shape.count == 4 { Self.dirac(p, shape: entry.shape) }
            case .frozen where entry.name == "0.weight":
                let bound = 1 / Float(12).squareRoot()
                for i in 0..<entry.count { p[i] = (generator.uniformFloat() * 2 - 1) * bound }
                Self.dirac(p, shape: entry.shape)
            case .frozen:
                let one = entry.name.hasSuffix(".weight") || entry.name.hasSuffix("running_var")
                p.update(repeating: one ? 1 : 0, count: entry.count)
            case .normBias, .whitenBias:
                p.update(repeating: 0, count: entry.count)
            }
        }
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

    public var parameterCount: Int {
        state.layout.entries.filter { $0.role != .frozen || $0.name == "0.weight" }.reduce(0) { $0 + $1.count }
    }

    /// Forward-pass FLOPs per image as computed here (convolutions and linear layer; conv1 of each block only
    /// over the part its max-pool reads).
    public var forwardFLOPsPerImage: Double {
        let whiten = ConvolutionShape(batch: 1, inputHeight: 32, inputWidth: 32, inputChannels: 3,
                                      outputChannels: Self.whitenWidth, kernelSize: 2, padding: 0)
        return blocks.reduce(whiten.flops) { $0 + $1.conv1(batch: 1).flops + $1.conv2(batch: 1).flops }
            + 2 * Double(Self.classes * widths.block3)
    }
}

extension Network94 {
    /// Every convolution with its name (PyTorch module path) and shape, at batch size `batch`.
    public func convolutionShapes(batch: Int) -> [(name: String, shape: ConvolutionShape)] {
        let whiten = ConvolutionShape(batch: batch, inputHeight: 32, inputWidth: 32, inputChannels: 3,
                                      outputChannels: Self.whitenWidth, kernelSize: 2, padding: 0)
        return [("0", whiten)] + blocks.flatMap {
            [("\($0.name).conv1", $0.conv1(batch: batch)), ("\($0.name).conv2", $0.conv2(batch: batch))]
        }
    }
}
