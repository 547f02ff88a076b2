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
        let spec = network.spec
        self.batch = batch
        input = FloatBuffer(count: batch * spec.input.pixels)
        whitenLinear = FloatBuffer(count: batch * spec.whitenedHeight * spec.whitenedWidth * spec.whiteningWidth)
        whitened = FloatBuffer(count: whitenLinear.count)
        var largestInput = whitened.count, largestHidden = 0, largestConv1 = 0
        blocks = network.blocks.map { block in
            let pooled = batch * block.pooledHeight * block.pooledWidth * block.channels
            largestInput = max(largestInput, pooled)
            largestHidden = max(largestHidden, pooled)
            largestConv1 = max(largestConv1, 4 * pooled)
            return BlockActivations(conv1: FloatBuffer(count: 4 * pooled), argmax: Buffer(count: pooled, repeating: 0),
                                    normInputs: (0..<block.convs).map { _ in FloatBuffer(count: pooled) },
                                    activations: (0..<block.convs).map { _ in FloatBuffer(count: pooled) },
                                    preactivation: block.residual && block.activationAfterAdd
                                        ? FloatBuffer(count: pooled) : nil,
                                    norms: Array(repeating: NormCoefficients(), count: block.convs))
        }
        features = FloatBuffer(count: batch * network.blocks.last!.channels)
        featureArgmax = Buffer(count: features.count, repeating: 0)
        logits = FloatBuffer(count: batch * network.classes)
        gradientA = FloatBuffer(count: largestInput)
        gradientB = FloatBuffer(count: largestHidden)
        gradientConv1 = FloatBuffer(count: largestConv1)
        gradientResidual = network.blocks.contains(where: \.residual) ? FloatBuffer(count: largestHidden) : nil
        gradientLogits = FloatBuffer(count: logits.count)
        gradientFeatures = FloatBuffer(count: features.count)
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
