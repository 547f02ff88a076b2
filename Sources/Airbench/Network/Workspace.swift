import AirbenchKernels

/// Activations of one batch size, saved by the forward pass for the backward pass, and the backward pass's
/// gradient buffers, sized from the network's spec. Shapes (NHWC, B = batch; airbench94 sizes in brackets):
///
///     input          B×H×W×3        [32×32]
///     whitenLinear   B×H'×W'×24     [31×31] whitening conv output before bias and GELU
///     whitened       B×H'×W'×24     GELU(whitenLinear + bias): block 1's input
///     per block (input h×w, pooled p×q = h/2×w/2, C channels, L convs):
///       conv1        B×2p×2q×C      conv1 output (the part the floor max-pool reads); argmax B×p×q×C (window index)
///       normInputs   L × B×p×q×C    norm k's input: [0] the max-pooled conv1 output, [k] conv k+1's output
///       activations  L × B×p×q×C    GELU(norm k(normInputs[k])): conv k+1's input; the last is the block output
///                                   (residual groups: the last holds the block output after the add)
///       preactivation  B×p×q×C      residual groups with the activation after the add: norm L's output + x0
///     features       B×C_last       global max-pool of the last block's output;  featureArgmax B×C_last
///     logits         B×classes
public final class Workspace: @unchecked Sendable {
    public let batch: Int
    let input: FloatBuffer
    let whitenLinear: FloatBuffer
    let whitened: FloatBuffer
    struct BlockActivations {
        let conv1: FloatBuffer
        let argmax: Buffer<UInt8>
        let normInputs: [FloatBuffer]
        let activations: [FloatBuffer]
        let preactivation: FloatBuffer?
        /// BatchNorm coefficients of this pass, one per conv: y = x·scale + shift, and batch mean / 1/std (training).
        var norms: [NormCoefficients]
        /// The block's output (the next block's input).
        var output: FloatBuffer { activations[activations.count - 1] }
    }
    var blocks: [BlockActivations]
    let features: FloatBuffer
    let featureArgmax: Buffer<UInt8>
    public let logits: FloatBuffer
    /// Backward scratch: gradients of block outputs / conv inputs, of hidden activations, of conv1 outputs.
    let gradientA, gradientB, gradientConv1: FloatBuffer
    /// The skip connection's gradient, held while the backward pass goes through the residual branch's convs.
    let gradientResidual: FloatBuffer?
    let gradientLogits: FloatBuffer
    let gradientFeatures: FloatBuffer

    init(network: Network, batch: Int) {
        let size = Size(spec: network.spec, batch: batch)
        self.batch = batch
        input = FloatBuffer(count: size.input)
        whitenLinear = FloatBuffer(count: size.whitened)
        whitened = FloatBuffer(count: size.whitened)
        blocks = zip(network.blocks, size.pooled).map { block, pooled in
            BlockActivations(conv1: FloatBuffer(count: 4 * pooled), argmax: Buffer(count: pooled, repeating: 0),
                             normInputs: (0..<block.convs).map { _ in FloatBuffer(count: pooled) },
                             activations: (0..<block.convs).map { _ in FloatBuffer(count: pooled) },
                             preactivation: block.residual && block.activationAfterAdd ? FloatBuffer(count: pooled) : nil,
                             norms: Array(repeating: NormCoefficients(), count: block.convs))
        }
        features = FloatBuffer(count: size.features)
        featureArgmax = Buffer(count: size.features, repeating: 0)
        logits = FloatBuffer(count: size.logits)
        gradientA = FloatBuffer(count: size.largestInput)
        gradientB = FloatBuffer(count: size.largestHidden)
        gradientConv1 = FloatBuffer(count: 4 * size.largestHidden)
        gradientResidual = network.blocks.contains(where: \.residual) ? FloatBuffer(count: size.largestHidden) : nil
        gradientLogits = FloatBuffer(count: size.logits)
        gradientFeatures = FloatBuffer(count: size.features)
    }

    /// The element counts `init` allocates its buffers with, known before anything is allocated.
    struct Size {
        let input: Int, whitened: Int, features: Int, logits: Int
        /// Per block: batch × pooled height × pooled width × channels (conv1's output is 4 of these).
        let pooled: [Int]
        let largestInput: Int, largestHidden: Int
        let bytes: Int

        /// The sizes for `batch` images of a network described by `spec` (`Network` derives its blocks from the
        /// same spec: block i pools its input size, `groupInputSizes[i]`, by 2).
        init(spec: NetworkSpec, batch: Int) {
            input = batch * spec.input.pixels
            whitened = batch * spec.whitenedHeight * spec.whitenedWidth * spec.whiteningWidth
            pooled = zip(spec.groups, spec.groupInputSizes).map { group, size in
                batch * (size.height / 2) * (size.width / 2) * group.width
            }
            features = batch * (spec.groups.last?.width ?? 0)
            logits = batch * spec.head.classes
            largestHidden = pooled.max() ?? 0
            largestInput = max(whitened, largestHidden)
            // Every buffer of `init`, in its order: floats are 4 bytes, the argmax indices 1.
            let blockFloats = zip(spec.groups, pooled).map { group, p in
                (4 + 2 * group.convs + (group.residual && group.activationAfterAdd ? 1 : 0)) * p
            }
            let residual = spec.groups.contains(where: \.residual) ? largestHidden : 0
            let floats = input + 2 * whitened + blockFloats.reduce(0, +) + features + logits + largestInput
                + largestHidden + 4 * largestHidden + residual + logits + features
            bytes = 4 * floats + pooled.reduce(0, +) + features
        }
    }

    /// The input images (batch × height × width × channels of the spec, normalised), for the caller to fill.
    public var inputPointer: UnsafeMutablePointer<Float> { input.pointer }
    /// d(loss)/d(logits) (batch × classes), for the caller to fill before `Network.backward`.
    public var gradientLogitsPointer: UnsafeMutablePointer<Float> { gradientLogits.pointer }
}

/// BatchNorm as an affine map per channel, plus the batch statistics its backward pass needs.
struct NormCoefficients {
    var scale: [Float] = []
    var shift: [Float] = []
    var mean: [Double] = []
    var inverseStd: [Double] = []
}
