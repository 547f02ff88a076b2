import AirbenchFormats
import AirbenchKernels

/// An airbench network described by data (paper Section 3.1 and the family's scripts): a frozen patch-whitening
/// convolution and GELU, a list of ConvGroups (GELU or SiLU inside), a global max-pool and a linear head with a fixed output scale.
/// `Network` derives its state layout, workspace and passes from this description, so the methods of the family
/// differ by a value, not by code.
///
/// State names follow each reference script's `nn.Sequential`: `0` whitening, `1` GELU, `2`… one per ConvGroup
/// (`conv1`, `norm1`, `conv2`, …), then MaxPool, Flatten, and the Linear layer (`7.weight` for three groups).
public struct NetworkSpec: Sendable, Equatable, Codable {
    /// Input images: height × width × channels (NHWC), from the data set.
    public struct Input: Sendable, Equatable, Codable {
        public var height: Int, width: Int, channels: Int
        public init(height: Int, width: Int, channels: Int) {
            self.height = height
            self.width = width
            self.channels = channels
        }

        /// CIFAR-10/100 images, as the data set defines them.
        public static let cifar = Input(height: ImageSplit.imageSide, width: ImageSplit.imageSide,
                                        channels: ImageSplit.channels)
        public var pixels: Int { height * width * channels }
    }

    /// The whitening layer: a k×k convolution without padding whose 2·c·k² filters are ± the eigenvectors of the
    /// patch covariance (Section 3.2), followed by a bias and GELU. Whether its bias trains is a training matter.
    public struct WhiteningLayer: Sendable, Equatable, Codable {
        public var kernelSize: Int
        /// The paper's ablation without whitening: the first conv is an ordinary trainable convolution
        /// (default initialisation with dirac, bias trained throughout) instead of the frozen whitening filters.
        public var trainable: Bool
        public init(kernelSize: Int = 2, trainable: Bool = false) {
            self.kernelSize = kernelSize
            self.trainable = trainable
        }
        /// Output channels for `channels` input channels: each eigenvector and its negation.
        public func width(channels: Int) -> Int { 2 * channels * kernelSize * kernelSize }
    }

    /// One ConvGroup: conv1 (3×3, same padding, no bias) → MaxPool2d(2) → norm1 → activation, then `convs − 1`
    /// more 3×3 convolutions each followed by BatchNorm and the activation (GELU; SiLU in hiverge's). airbench96
    /// adds a residual across the later convs (paper version: `out = x + GELU(norm3(conv3(...)))`, activation
    /// before the add; 2024 version: `out = GELU(norm3(conv3(...)) + x)`, activation after the add).
    public struct ConvGroup: Sendable, Equatable, Codable {
        /// Output channels of every convolution in the group.
        public var width: Int
        /// Convolutions in the group: 2 (airbench94/95) or 3 (airbench96).
        public var convs: Int
        /// Whether the output of the first conv-norm-activation is added to the group's output.
        public var residual: Bool
        /// With `residual`: the activation after the add (2024 airbench96) rather than before it (paper airbench96).
        public var activationAfterAdd: Bool
        /// The activation after each BatchNorm: GELU (airbench), SiLU (hiverge).
        public var activation: Activation

        public init(width: Int, convs: Int = 2, residual: Bool = false, activationAfterAdd: Bool = false,
                    activation: Activation = .gelu) {
            self.width = width
            self.convs = convs
            self.residual = residual
            self.activationAfterAdd = activationAfterAdd
            self.activation = activation
        }

        enum CodingKeys: String, CodingKey { case width, convs, residual, activationAfterAdd, activation }

        /// Model files written before the activation was a choice have no `activation`: GELU. So GELU is written
        /// as that absence, and the files of the methods without SiLU stay byte for byte what they were.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(width, forKey: .width)
            try container.encode(convs, forKey: .convs)
            try container.encode(residual, forKey: .residual)
            try container.encode(activationAfterAdd, forKey: .activationAfterAdd)
            if activation != .gelu { try container.encode(activation, forKey: .activation) }
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.init(width: try container.decode(Int.self, forKey: .width),
                      convs: try container.decode(Int.self, forKey: .convs),
                      residual: try container.decode(Bool.self, forKey: .residual),
                      activationAfterAdd: try container.decode(Bool.self, forKey: .activationAfterAdd),
                      activation: try container.decodeIfPresent(Activation.self, forKey: .activation) ?? .gelu)
        }
    }

    /// The pooling between the last ConvGroup and the head.
    public enum Pooling: String, Sendable, Equatable, Codable {
        /// Max over the whole final feature map (airbench's `MaxPool2d(3)` on the 3×3 map of 32×32 inputs).
        case globalMax
    }

    /// The linear head (no bias) and the constant its output is multiplied by.
    public struct Head: Sendable, Equatable, Codable {
        public var classes: Int
        public var scalingFactor: Double
        /// The JSON key of model files written before the rename.
        enum CodingKeys: String, CodingKey { case classes, scalingFactor = "outputScale" }
        public init(classes: Int, scalingFactor: Double) {
            self.classes = classes
            self.scalingFactor = scalingFactor
        }
    }

    /// How state entries are named: after the reference script whose `load_state_dict` reads the export.
    public enum Naming: String, Sendable, Equatable, Codable, CaseIterable {
        /// airbench94/95/96's `nn.Sequential`: `0.weight`, `2.conv1.weight`, …, `7.weight`.
        case sequential
        /// airbench94_muon's `CifarNet`: `whiten.weight`, `layers.1.conv1.weight`, …, `head.weight`.
        case cifarNet
    }

    /// Written into saved models as `model`.
    public var name: String
    public var input: Input
    /// The first layer (the patch-whitening conv, or a trainable conv in the ablation).
    public var whiteningLayer: WhiteningLayer
    public var groups: [ConvGroup]
    public var pooling: Pooling
    public var head: Head
    public var naming: Naming

    /// Model files store the first layer under its former key, `whitening`.
    enum CodingKeys: String, CodingKey { case name, input, whiteningLayer = "whitening", groups, pooling, head, naming }

    public init(name: String, input: Input, whiteningLayer: WhiteningLayer = WhiteningLayer(), groups: [ConvGroup],
                pooling: Pooling = .globalMax, head: Head, naming: Naming = .sequential) {
        self.name = name
        self.input = input
        self.whiteningLayer = whiteningLayer
        self.groups = groups
        self.pooling = pooling
        self.head = head
        self.naming = naming
    }

    /// airbench94 (paper Listing 4): three 2-conv groups without residuals, output scale 1/9.
    public static func airbench94(widths: Widths = Widths(), input: Input = .cifar, classes: Int = 10,
                                  scalingFactor: Double = 1.0 / 9) -> NetworkSpec {
        NetworkSpec(name: "airbench94", input: input, groups: widths.array.map { ConvGroup(width: $0) },
                    head: Head(classes: classes, scalingFactor: scalingFactor))
    }

    /// airbench96 (spec A.2/A.3): three 3-conv residual groups. The paper version (`31ce2de:airbench96.py`,
    /// widths 128/512/512) adds after the last GELU; the 2024 version (`legacy/airbench96.py`, widths
    /// 128/384/512, `activationAfterAdd: true`) applies the GELU to the sum.
    public static func airbench96(widths: Widths = Widths(block1: 128, block2: 512, block3: 512),
                                  activationAfterAdd: Bool = false, input: Input = .cifar, classes: Int = 10,
                                  scalingFactor: Double = 1.0 / 9) -> NetworkSpec {
        NetworkSpec(name: "airbench96", input: input,
                    groups: widths.array.map {
                        ConvGroup(width: $0, convs: 3, residual: true, activationAfterAdd: activationAfterAdd)
                    },
                    head: Head(classes: classes, scalingFactor: scalingFactor))
    }

    /// Output channels of the whitening layer.
    public var whiteningWidth: Int { whiteningLayer.width(channels: input.channels) }
    /// The whitening layer's output size (no padding).
    public var whitenedHeight: Int { input.height - whiteningLayer.kernelSize + 1 }
    public var whitenedWidth: Int { input.width - whiteningLayer.kernelSize + 1 }

    /// Module path of each part, as the reference script names it (`naming`). In `nn.Sequential` order:
    /// whitening, GELU, the groups, MaxPool, Flatten, then the Linear layer; `CifarNet` has `whiten`, `layers`
    /// (GELU, the groups, MaxPool) and `head`.
    public var whiteningModule: String { naming == .sequential ? "0" : "whiten" }
    public func groupModule(_ index: Int) -> String { naming == .sequential ? "\(index + 2)" : "layers.\(index + 1)" }
    public var headModule: String { naming == .sequential ? "\(groups.count + 4)" : "head" }

    /// Feature-map sides (height, width) entering each group and after the last one: every group's max-pool
    /// halves them, rounding down.
    public var groupInputSizes: [(height: Int, width: Int)] {
        var sizes = [(whitenedHeight, whitenedWidth)]
        for _ in groups { sizes.append((sizes.last!.0 / 2, sizes.last!.1 / 2)) }
        return sizes
    }

    /// Throws unless `Network` can build and run this description.
    public func validate() throws {
        func fail(_ message: String) -> TrainingError { .invalidNetwork(spec: name, message: message) }
        guard input.height > 0, input.width > 0, input.channels > 0 else { throw fail("input must be non-empty") }
        guard whiteningLayer.kernelSize >= 1, whitenedHeight >= 1, whitenedWidth >= 1 else {
            throw fail("whitening kernel \(whiteningLayer.kernelSize) does not fit \(input.height)×\(input.width) inputs")
        }
        guard !groups.isEmpty else { throw fail("at least one ConvGroup is needed") }
        for (i, group) in groups.enumerated() {
            guard group.width >= 1 else { throw fail("group \(i + 1) has width \(group.width)") }
            guard (2...3).contains(group.convs) else { throw fail("group \(i + 1) has \(group.convs) convs (2 or 3)") }
            if group.activationAfterAdd && !group.residual {
                throw fail("group \(i + 1) puts the activation after an add but has no residual")
            }
        }
        let last = groupInputSizes.last!
        guard last.height >= 1, last.width >= 1 else {
            throw fail("\(input.height)×\(input.width) inputs vanish after \(groups.count) max-pools")
        }
        // The global max-pool runs as one square window (like MaxPool2d(3) on 3×3), its argmax in a byte.
        guard last.height == last.width, last.height <= 15 else {
            throw fail("the final \(last.height)×\(last.width) map must be square and at most 15×15 for the global max-pool")
        }
        guard head.classes >= 2 else { throw fail("the head needs at least 2 classes, got \(head.classes)") }
        guard head.scalingFactor.isFinite, head.scalingFactor > 0 else { throw fail("output scale must be positive") }
    }
}

