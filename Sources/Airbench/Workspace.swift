import AirbenchKernels

/// Activations of one batch size, saved by the forward pass for the backward pass, and the backward pass's
/// gradient buffers. Shapes (NHWC, B = batch):
///
///     input        B×32×32×3
///     whitenLinear B×31×31×24   whitening conv output before bias and GELU
///     whitened     B×31×31×24   GELU(whitenLinear + bias): block 1's input
///     per block (side s in, p = s/2 pooled, C channels):
///       conv1      B×2p×2p×C    conv1 output (the part the floor max-pool reads)
///       pooled     B×p×p×C      max-pool output = norm1 input;  argmax1 B×p×p×C (window index)
///       hidden     B×p×p×C      GELU(norm1(pooled)) = conv2 input
///       conv2      B×p×p×C      conv2 output = norm2 input
///       output     B×p×p×C      GELU(norm2(conv2)) = next block's input
///     features     B×C3         MaxPool2d(3) of block 3's output;  featureArgmax B×C3
///     logits       B×10
public final class Workspace: @unchecked Sendable {
    public let batch: Int
    let input: FloatBuffer
    let whitenLinear: FloatBuffer
    let whitened: FloatBuffer
    struct BlockActivations {
        let conv1, pooled, hidden, conv2, output: FloatBuffer
        let argmax: Buffer<UInt8>
        /// BatchNorm coefficients of this pass: y = x·scale + shift, and batch mean / 1/std (training).
        var norm1 = NormCoefficients(), norm2 = NormCoefficients()
    }
    var blocks: [BlockActivations]
    let features: FloatBuffer
    let featureArgmax: Buffer<UInt8>
    public let logits: FloatBuffer
    /// Backward scratch: gradients of block outputs / conv inputs, of hidden activations, of conv1 outputs.
    let gradientA, gradientB, gradientConv1: FloatBuffer
    let gradientLogits: FloatBuffer
    let gradientFeatures: FloatBuffer

    init(network: Network94, batch: Int) {
        self.batch = batch
        input = FloatBuffer(count: batch * 32 * 32 * 3)
        whitenLinear = FloatBuffer(count: batch * 31 * 31 * Network94.whitenWidth)
        whitened = FloatBuffer(count: whitenLinear.count)
        var largestInput = whitened.count, largestHidden = 0, largestConv1 = 0
        blocks = network.blocks.map { block in
            let p = block.pooledSide, pooled = batch * p * p * block.channels
            largestInput = max(largestInput, pooled)
            largestHidden = max(largestHidden, pooled)
            largestConv1 = max(largestConv1, 4 * pooled)
            return BlockActivations(conv1: FloatBuffer(count: 4 * pooled), pooled: FloatBuffer(count: pooled),
                                    hidden: FloatBuffer(count: pooled), conv2: FloatBuffer(count: pooled),
                                    output: FloatBuffer(count: pooled), argmax: Buffer(count: pooled, repeating: 0))
        }
        features = FloatBuffer(count: batch * network.widths.block3)
        featureArgmax = Buffer(count: features.count, repeating: 0)
        logits = FloatBuffer(count: batch * Network94.classes)
        gradientA = FloatBuffer(count: largestInput)
        gradientB = FloatBuffer(count: largestHidden)
        gradientConv1 = FloatBuffer(count: largestConv1)
        gradientLogits = FloatBuffer(count: logits.count)
        gradientFeatures = FloatBuffer(count: features.count)
    }

    /// The input images (batch × 32 × 32 × 3, normalised), for the caller to fill.
    public var inputPointer: UnsafeMutablePointer<Float> { input.pointer }
    /// d(loss)/d(logits) (batch × 10), for the caller to fill before `Network94.backward`.
    public var gradientLogitsPointer: UnsafeMutablePointer<Float> { gradientLogits.pointer }
}

/// BatchNorm as an affine map per channel, plus the batch statistics its backward pass needs.
struct NormCoefficients {
    var scale: [Float] = []
    var shift: [Float] = []
    var mean: [Double] = []
    var inverseStd: [Double] = []
}
