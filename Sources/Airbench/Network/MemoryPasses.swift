import AirbenchKernels

/// One memory-bound pass of a training step (a BatchNorm's statistics, its apply with the activation, a max-pool,
/// their backward passes): the bytes it must read and write, and the kernel that does it, runnable on scratch
/// buffers of its real size for timing (`airbench bench`'s roofline table).
public struct MemoryPass {
    /// The layer it belongs to ("2.norm1", "2.pool", "whiten"), and what it does.
    public let layer: String, name: String
    /// Bytes read and written once each (fp32 activations, 1-byte pool indices).
    public let bytes: Double
    /// Runs the pass's kernel once on its scratch buffers.
    public let run: () -> Void
}

/// Counts and buffers of a block's activations for `MemoryPass` (shared by its passes).
private struct PassBuffers {
    let x: FloatBuffer, y: FloatBuffer, wide: FloatBuffer, argmax: Buffer<UInt8>
    init(elements: Int, wideElements: Int) {
        x = FloatBuffer(count: elements, repeating: 0.5)
        y = FloatBuffer(count: elements, repeating: 0.25)
        wide = FloatBuffer(count: wideElements, repeating: 0.125)
        argmax = Buffer(count: elements, repeating: 1)
    }
}

extension Network {
    /// Whether the convolution `layer` (a PyTorch module path, as `convolutionShapes` names it) runs its forward pass
    /// fused with the block's max-pool.
    public func poolIsFused(layer: String) -> Bool {
        blocks.indices.contains { blocks[$0].conv(0) == layer && poolIsFused(block: $0) }
    }

    /// Whether block `i`'s conv1 runs its max-pool fused (`Convolution.forwardPooled`: a Winograd forward pass).
    func poolIsFused(block i: Int) -> Bool {
        fusesPool && convolutionAlgorithm.effective(forPass: blocks[i].conv1(batch: 1), .forward).winogradTile != nil
    }

    /// The memory-bound passes of one training step on `batch` images, in the order `forward` and `backward` run
    /// them (the whitening bias trainable; the head's small passes left out). With `fused` false, the passes as they
    /// were before the max-pool's fusions: the separate max-pool each block's conv1 would need (what
    /// `Convolution.forwardPooled` saves on a Winograd; where conv1 runs direct it is always separate) and norm1's
    /// input gradient as a pass of its own before the max-pool backward. Allocates scratch buffers of the real sizes.
    public func memoryPasses(batch: Int, fused: Bool = true) -> [MemoryPass] {
        var passes = [MemoryPass]()
        let whitenRows = batch * spec.whitenedHeight * spec.whitenedWidth, whitenWidth = spec.whiteningWidth
        let ones = [Float](repeating: 1, count: max(whitenWidth, blocks.map(\.channels).max() ?? 0))
        let zeros = [Float](repeating: 0, count: ones.count)
        let whiten = PassBuffers(elements: whitenRows * whitenWidth, wideElements: 0)
        passes.append(MemoryPass(layer: spec.whiteningModule, name: "bias + GELU", bytes: 8 * Double(whitenRows * whitenWidth)) {
            ChannelOps.affine(whiten.x.pointer, rows: whitenRows, channels: whitenWidth, scale: ones, shift: zeros,
                              activation: .gelu, output: whiten.y.pointer)
        })
        var backward = [MemoryPass]()
        for (i, block) in blocks.enumerated() {
            let c = block.channels, rows = batch * block.pooledHeight * block.pooledWidth, p = Double(rows * c)
            let b = PassBuffers(elements: rows * c, wideElements: 4 * rows * c)
            let scale = Array(ones.prefix(c)), shift = Array(zeros.prefix(c))
            let (h, w) = (2 * block.pooledHeight, 2 * block.pooledWidth)
            if !(fused && poolIsFused(block: i)) {
                passes.append(MemoryPass(layer: "\(block.module).pool", name: "max-pool", bytes: 21 * p) {
                    MaxPool.forward(b.wide.pointer, batch: batch, height: h, width: w, channels: c, kernel: 2,
                                    output: b.x.pointer, argmax: b.argmax.pointer)
                })
            }
            var blockBackward = [MemoryPass]()
            for k in 0..<block.convs {
                let norm = block.norm(k)
                passes.append(MemoryPass(layer: norm, name: "statistics", bytes: 4 * p) {
                    _ = ChannelOps.sums(b.x.pointer, rows: rows, channels: c)
                })
                passes.append(MemoryPass(layer: norm, name: "apply + \(block.activation.name)", bytes: 8 * p) {
                    ChannelOps.affine(b.x.pointer, rows: rows, channels: c, scale: scale, shift: shift,
                                      activation: block.activation, output: b.y.pointer)
                })
                blockBackward.append(MemoryPass(layer: norm, name: "\(block.activation.name) + norm backward", bytes: 12 * p) {
                    _ = ChannelOps.affineActivationBackward(b.x.pointer, gradOutput: b.y.pointer, rows: rows, channels: c,
                                                            scale: scale, shift: shift, activation: block.activation,
                                                            gradAffine: b.y.pointer)
                })
                if k > 0 || !fused {
                    let inputGradient = NormInputGradient(x: b.x.pointer, a: scale, b: shift, d: shift)
                    blockBackward.append(MemoryPass(layer: norm, name: "norm input gradient", bytes: 12 * p) {
                        ChannelOps.combine(b.y.pointer, inputGradient, rows: rows, channels: c, output: b.y.pointer)
                    })
                }
            }
            // Fused, norm1's input gradient is formed on the way: dz and x read, no pooled-size dx written or re-read.
            let inputGradient = fused ? NormInputGradient(x: b.x.pointer, a: scale, b: shift, d: shift) : nil
            blockBackward.append(MemoryPass(layer: "\(block.module).pool",
                                            name: fused ? "norm1 input gradient + max-pool backward" : "max-pool backward",
                                            bytes: (fused ? 25 : 21) * p) {
                MaxPool.backward(b.y.pointer, through: inputGradient, argmax: b.argmax.pointer, batch: batch, height: h,
                                 width: w, channels: c, kernel: 2, gradInput: b.wide.pointer)
            })
            backward = blockBackward + backward
        }
        backward.append(MemoryPass(layer: spec.whiteningModule, name: "GELU backward + bias gradient",
                                   bytes: 12 * Double(whitenRows * whitenWidth)) {
            _ = ChannelOps.affineActivationBackward(whiten.x.pointer, gradOutput: whiten.y.pointer, rows: whitenRows,
                                                    channels: whitenWidth, scale: ones, shift: zeros, activation: .gelu,
                                                    gradAffine: whiten.y.pointer)
        })
        return passes + backward
    }
}
