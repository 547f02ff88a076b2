import AirbenchKernels

extension Network {
    /// Runs the network on `workspace.input`, leaving the logits in `workspace.logits`. Training mode normalises
    /// with batch statistics and updates the running statistics (PyTorch momentum 1 − batchNormMomentum, unbiased
    /// running variance) over the workspace's whole batch; evaluation mode uses the running statistics and runs its
    /// first `images` (default all): an image's logits do not depend on the others in its batch, so one workspace
    /// serves evaluation batches of any size up to its own.
    public func forward(_ ws: Workspace, training: Bool, images: Int? = nil) {
        let batch = images ?? ws.batch
        precondition((1...ws.batch).contains(batch) && (!training || batch == ws.batch),
                     "training runs the workspace's whole batch; evaluation 1 to \(ws.batch) images, not \(batch)")
        let whiten = whiteningShape(batch: batch), whitenWidth = spec.whiteningWidth
        Convolution.forward(whiten, input: ws.input.pointer, weights: forwardWeights(whiteningWeight, shape: whiten),
                            output: ws.whitenLinear.pointer)
        ChannelOps.affine(ws.whitenLinear.pointer, rows: batch * spec.whitenedHeight * spec.whitenedWidth,
                          channels: whitenWidth, scale: [Float](repeating: 1, count: whitenWidth),
                          shift: state.values(whiteningBias), activation: .gelu, output: ws.whitened.pointer)
        var input = ws.whitened
        for (i, block) in blocks.enumerated() {
            let a = ws.blocks[i], c = block.channels, rows = batch * block.pooledHeight * block.pooledWidth
            let conv1 = block.conv1(batch: batch), laterConv = block.laterConv(batch: batch)
            let weights = forwardWeights(block.convWeights[0], shape: conv1, algorithm: convolutionAlgorithm)
            if poolIsFused(block: i) {
                Convolution.forwardPooled(conv1, input: input.pointer, weights: weights, scratch: a.conv1.pointer,
                                          pooled: a.normInputs[0].pointer, argmax: a.argmax.pointer)
            } else {
                Convolution.forward(conv1, input: input.pointer, weights: weights, output: a.conv1.pointer)
                MaxPool.forward(a.conv1.pointer, batch: batch, height: conv1.outputHeight, width: conv1.outputWidth,
                                channels: c, kernel: 2, output: a.normInputs[0].pointer, argmax: a.argmax.pointer)
            }
            // conv(k) → norm(k) → activation; conv1's output reaches norm1 through the max-pool above.
            for k in 0..<block.convs {
                if k > 0 {
                    Convolution.forward(laterConv, input: a.activations[k - 1].pointer,
                                        weights: forwardWeights(block.convWeights[k], shape: laterConv,
                                                                algorithm: convolutionAlgorithm),
                                        output: a.normInputs[k].pointer)
                }
                ws.blocks[i].norms[k] = batchNorm(block.norms[k], a.normInputs[k], rows: rows, channels: c,
                                                  training: training)
                if block.residual && k == block.convs - 1 {
                    residualForward(a, norm: ws.blocks[i].norms[k], rows: rows, channels: c, block: block)
                } else {
                    ChannelOps.affine(a.normInputs[k].pointer, rows: rows, channels: c,
                                      scale: ws.blocks[i].norms[k].scale, shift: ws.blocks[i].norms[k].shift,
                                      activation: block.activation, output: a.activations[k].pointer)
                }
            }
            input = a.output
        }
        // Global max-pool (MaxPool2d(3) on airbench94's 3×3 map), then the linear head with its output scale.
        let width = blocks.last!.channels, side = finalSide, classes = self.classes
        MaxPool.forward(input.pointer, batch: batch, height: side, width: side, channels: width, kernel: side,
                        output: ws.features.pointer, argmax: ws.featureArgmax.pointer)
        Linear.forward(features: ws.features.pointer, weight: state.pointer(headWeight), batch: batch, width: width,
                       classes: classes, scale: scalingFactor, logits: ws.logits.pointer)
    }

    /// The weights `entry` packed for the forward pass: packed anew on every call in training (the weights change
    /// every step), once per evaluation while `infer` runs (its views and batches share the weights).
    func forwardWeights(_ entry: StateEntry, shape: ConvolutionShape, algorithm: ConvolutionAlgorithm = .auto) -> PackedWeights {
        if let packed = evaluationPacks?[entry.offset] { return packed }
        let key = PackKey(offset: entry.offset, backwardData: false)
        let packed = PackedWeights.forward(state.pointer(entry), shape: shape, algorithm: algorithm, reusing: packBuffers[key])
        packBuffers[key] = packed.buffer
        evaluationPacks?[entry.offset] = packed
        return packed
    }

    /// The weights `entry` packed for the backward-data pass, anew on every call.
    func backwardDataWeights(_ entry: StateEntry, shape: ConvolutionShape, algorithm: ConvolutionAlgorithm) -> PackedWeights {
        let key = PackKey(offset: entry.offset, backwardData: true)
        let packed = PackedWeights.backwardData(state.pointer(entry), shape: shape, algorithm: algorithm,
                                                reusing: packBuffers[key])
        packBuffers[key] = packed.buffer
        return packed
    }

    /// BatchNorm coefficients for `x` (rows × channels): batch statistics in training (and the running-statistics
    /// update), running statistics in evaluation. The weight is frozen at 1 (paper Section 3.1).
    func batchNorm(_ entries: BatchNormEntries, _ x: FloatBuffer, rows: Int, channels: Int, training: Bool) -> NormCoefficients {
        let bias = state.pointer(entries.bias), runningMean = state.pointer(entries.runningMean)
        let runningVar = state.pointer(entries.runningVar)
        var norm = NormCoefficients()
        if training {
            let (sum, squares) = ChannelOps.sums(x.pointer, rows: rows, channels: channels)
            let n = Double(rows), keep = Float(batchNormMomentum), take = Float(1 - batchNormMomentum)
            norm.mean = sum.map { $0 / n }
            let variance = (0..<channels).map { max(0, squares[$0] / n - norm.mean[$0] * norm.mean[$0]) }
            norm.inverseStd = variance.map { 1 / ($0 + batchNormEpsilon).squareRoot() }
            for c in 0..<channels {
                runningMean[c] = keep * runningMean[c] + take * Float(norm.mean[c])
                runningVar[c] = keep * runningVar[c] + take * Float(variance[c] * n / (n - 1))
            }
        } else {
            norm.mean = (0..<channels).map { Double(runningMean[$0]) }
            norm.inverseStd = (0..<channels).map { 1 / (Double(runningVar[$0]) + batchNormEpsilon).squareRoot() }
        }
        norm.scale = norm.inverseStd.map { Float($0) }
        norm.shift = (0..<channels).map { Float(Double(bias[$0]) - norm.mean[$0] * norm.inverseStd[$0]) }
        return norm
    }

    /// Backward pass after a training-mode `forward`, given d(loss)/d(logits) in `ws.gradientLogits`.
    /// Gradients of every trainable entry are overwritten in `gradients` (same layout as `state`); the whitening
    /// bias gets its gradient only while `whitenBiasTrainable` (otherwise its entry is left untouched and the
    /// backward-data pass into the first block is skipped).
    public func backward(_ ws: Workspace, gradients: StateBuffer, whitenBiasTrainable: Bool) {
        let batch = ws.batch, width = blocks.last!.channels, side = finalSide, classes = self.classes
        Linear.backward(gradLogits: ws.gradientLogits.pointer, features: ws.features.pointer,
                        weight: state.pointer(headWeight), batch: batch, width: width, classes: classes,
                        scale: scalingFactor, gradWeight: gradients.pointer(headWeight),
                        gradFeatures: ws.gradientFeatures.pointer)
        MaxPool.backward(ws.gradientFeatures.pointer, argmax: ws.featureArgmax.pointer, batch: batch, height: side,
                         width: side, channels: width, kernel: side, gradInput: ws.gradientA.pointer)
        // gradientA holds d(loss)/d(block output) on entry to each block, d(loss)/d(block input) on exit; inside a
        // block the gradient of each later conv's input alternates between gradientA and gradientB.
        for i in blocks.indices.reversed() {
            let block = blocks[i], a = ws.blocks[i], c = block.channels
            let rows = batch * block.pooledHeight * block.pooledWidth
            let conv1 = block.conv1(batch: batch), laterConv = block.laterConv(batch: batch)
            let blockInput = i == 0 ? ws.whitened : ws.blocks[i - 1].output
            var grad = ws.gradientA, spare = ws.gradientB
            let afterAdd = block.residual && block.activationAfterAdd
            if block.residual {
                // The skip's share of d(loss)/d(first activation): d(out) before the add, d(out)·f′(sum) after.
                if afterAdd {
                    block.activation.backward(a.preactivation!.pointer, gradOutput: grad.pointer, gradInput: grad.pointer,
                                              count: rows * c)
                }
                ws.gradientResidual!.pointer.update(from: grad.pointer, count: rows * c)
            }
            for k in (1..<block.convs).reversed() {
                let inputGradient: NormInputGradient
                if afterAdd && k == block.convs - 1 {  // grad is already d(loss)/d(norm output)
                    let (sumDz, sumDzX) = Self.channelSums(grad.pointer, a.normInputs[k].pointer, rows: rows, channels: c)
                    inputGradient = normBackward(block.norms[k], a.normInputs[k], a.norms[k], sumDz: sumDz,
                                                 sumDzX: sumDzX, rows: rows, channels: c, gradients: gradients)
                } else {
                    inputGradient = normActivationBackward(block.norms[k], a.normInputs[k], grad, a.norms[k], rows: rows,
                                                           channels: c, activation: block.activation, gradients: gradients)
                }
                ChannelOps.combine(grad.pointer, inputGradient, rows: rows, channels: c, output: grad.pointer)
                observe(block.conv(k), laterConv, input: a.activations[k - 1], weights: block.convWeights[k], gradOutput: grad)
                Convolution.backwardWeights(laterConv, input: a.activations[k - 1].pointer, gradOutput: grad.pointer,
                                            gradWeights: gradients.pointer(block.convWeights[k]),
                                            algorithm: convolutionAlgorithm)
                Convolution.backwardData(laterConv, gradOutput: grad.pointer,
                                         weights: backwardDataWeights(block.convWeights[k], shape: laterConv,
                                                                      algorithm: convolutionAlgorithm),
                                         gradInput: spare.pointer)
                swap(&grad, &spare)
            }
            if block.residual {  // the residual branch accumulates into the gradient of its input
                let g = grad.pointer, r = ws.gradientResidual!.pointer
                for j in 0..<rows * c { g[j] += r[j] }
            }
            // norm1's input gradient is formed as the max-pool routes it (one pass instead of two; the same bits).
            let inputGradient = normActivationBackward(block.norms[0], a.normInputs[0], grad, a.norms[0], rows: rows,
                                                       channels: c, activation: block.activation, gradients: gradients)
            if !fusesPool { ChannelOps.combine(grad.pointer, inputGradient, rows: rows, channels: c, output: grad.pointer) }
            MaxPool.backward(grad.pointer, through: fusesPool ? inputGradient : nil, argmax: a.argmax.pointer,
                             batch: batch, height: 2 * block.pooledHeight, width: 2 * block.pooledWidth, channels: c,
                             kernel: 2, gradInput: ws.gradientConv1.pointer)
            observe(block.conv(0), conv1, input: blockInput, weights: block.convWeights[0], gradOutput: ws.gradientConv1)
            Convolution.backwardWeights(conv1, input: blockInput.pointer, gradOutput: ws.gradientConv1.pointer,
                                        gradWeights: gradients.pointer(block.convWeights[0]),
                                        algorithm: convolutionAlgorithm)
            // With the whitening bias frozen nothing below block 1 trains: skip its backward-data pass.
            if i > 0 || whitenBiasTrainable || spec.whiteningLayer.trainable {
                Convolution.backwardData(conv1, gradOutput: ws.gradientConv1.pointer,
                                         weights: backwardDataWeights(block.convWeights[0], shape: conv1,
                                                                      algorithm: convolutionAlgorithm),
                                         gradInput: ws.gradientA.pointer)
            }
        }
        guard whitenBiasTrainable || spec.whiteningLayer.trainable else { return }
        let rows = batch * spec.whitenedHeight * spec.whitenedWidth, channels = spec.whiteningWidth
        let (sum, _) = ChannelOps.affineActivationBackward(
            ws.whitenLinear.pointer, gradOutput: ws.gradientA.pointer, rows: rows, channels: channels,
            scale: [Float](repeating: 1, count: channels), shift: state.values(whiteningBias), activation: .gelu,
            gradAffine: ws.gradientA.pointer)
        if whitenBiasTrainable { gradients.set(whiteningBias, sum.map { Float($0) }) }
        // The ablation without whitening trains the first conv's filters too.
        if spec.whiteningLayer.trainable {
            Convolution.backwardWeights(whiteningShape(batch: batch), input: ws.input.pointer,
                                        gradOutput: ws.gradientA.pointer, gradWeights: gradients.pointer(whiteningWeight),
                                        algorithm: convolutionAlgorithm)
        }
    }

    /// Hands `convolutionObserver`, if any, the operands of the convolution `layer`.
    private func observe(_ layer: String, _ shape: ConvolutionShape, input: FloatBuffer, weights: StateEntry,
                         gradOutput: FloatBuffer) {
        guard let convolutionObserver else { return }
        convolutionObserver(ConvolutionOperands(
            layer: layer, shape: shape, input: Array(UnsafeBufferPointer(start: input.pointer, count: shape.inputCount)),
            weights: state.values(weights),
            gradOutput: Array(UnsafeBufferPointer(start: gradOutput.pointer, count: shape.outputCount))))
    }

    /// Activation + BatchNorm backward: `grad` enters as d(loss)/d(activation output) and leaves as dz =
    /// d(loss)/d(norm output); the norm's bias gradient (Σ dz) is written to `gradients`, and the map from dz to
    /// d(loss)/d(norm input) returned. With z = x̂ + bias, x̂ = (x − mean)·s:  dx = s·(dz − mean(dz) − x̂·mean(dz·x̂)).
    private func normActivationBackward(_ entries: BatchNormEntries, _ x: FloatBuffer, _ grad: FloatBuffer,
                                        _ norm: NormCoefficients, rows: Int, channels: Int, activation: Activation,
                                        gradients: StateBuffer) -> NormInputGradient {
        let (sumDz, sumDzX) = ChannelOps.affineActivationBackward(x.pointer, gradOutput: grad.pointer, rows: rows,
                                                                   channels: channels, scale: norm.scale, shift: norm.shift,
                                                                   activation: activation, gradAffine: grad.pointer)
        return normBackward(entries, x, norm, sumDz: sumDz, sumDzX: sumDzX, rows: rows, channels: channels,
                            gradients: gradients)
    }

    /// BatchNorm backward from the per-channel sums Σdz and Σdz·x of dz = d(loss)/d(norm output): writes the bias
    /// gradient (Σdz) to `gradients` and returns d(loss)/d(norm input) as an affine map of dz and x, dz·a + x·b + d.
    private func normBackward(_ entries: BatchNormEntries, _ x: FloatBuffer, _ norm: NormCoefficients,
                              sumDz: [Double], sumDzX: [Double], rows: Int, channels: Int,
                              gradients: StateBuffer) -> NormInputGradient {
        gradients.set(entries.bias, sumDz.map { Float($0) })
        let n = Double(rows)
        var a = [Float](), b = [Float](), d = [Float]()
        for c in 0..<channels {
            let s = norm.inverseStd[c], sumDzXhat = s * (sumDzX[c] - norm.mean[c] * sumDz[c])
            a.append(Float(s))
            b.append(Float(-s * s * sumDzXhat / n))
            d.append(Float(-s * sumDz[c] / n + norm.mean[c] * s * s * sumDzXhat / n))
        }
        return NormInputGradient(x: x.pointer, a: a, b: b, d: d)
    }

    /// A workspace for `batch` images.
    public func makeWorkspace(batch: Int) -> Workspace { Workspace(network: self, batch: batch) }
}

extension Network {
    /// The last conv of a residual ConvGroup (airbench96): with x0 the group's first activation and f its
    /// activation (GELU in airbench96), out = f(norm(x)) + x0 (paper version, activation before the add) or out = f(norm(x) + x0)
    /// (2024 version, after the add; the sum is kept in `preactivation` for the backward pass).
    func residualForward(_ a: Workspace.BlockActivations, norm: NormCoefficients, rows: Int, channels: Int, block: Block) {
        let last = a.activations.count - 1, count = rows * channels
        let x = a.normInputs[last].pointer, x0 = a.activations[0].pointer, out = a.activations[last].pointer
        if block.activationAfterAdd {
            let sum = a.preactivation!.pointer
            ChannelOps.affine(x, rows: rows, channels: channels, scale: norm.scale, shift: norm.shift, activation: nil,
                              output: sum)
            for i in 0..<count { sum[i] += x0[i] }
            block.activation.forward(sum, out, count: count)
        } else {
            ChannelOps.affine(x, rows: rows, channels: channels, scale: norm.scale, shift: norm.shift,
                              activation: block.activation, output: out)
            for i in 0..<count { out[i] += x0[i] }
        }
    }

    /// Per-channel (Σdz, Σdz·x) over NHWC rows, in Double (what `ChannelOps.affineActivationBackward` returns when
    /// the activation is not part of the norm's backward).
    static func channelSums(_ dz: UnsafePointer<Float>, _ x: UnsafePointer<Float>, rows: Int, channels: Int)
        -> (sumDz: [Double], sumDzX: [Double]) {
        var sumDz = [Double](repeating: 0, count: channels), sumDzX = sumDz
        for r in 0..<rows {
            for c in 0..<channels {
                let g = Double(dz[r * channels + c])
                sumDz[c] += g
                sumDzX[c] += g * Double(x[r * channels + c])
            }
        }
        return (sumDz, sumDzX)
    }
}

/// The operands of one convolution's passes in a training step (`Network.convolutionObserver`).
public struct ConvolutionOperands: Sendable {
    /// PyTorch module path, e.g. "3.conv1".
    public let layer: String
    public let shape: ConvolutionShape
    /// NHWC input, OIHW weights, NHWC d(loss)/d(output).
    public let input: [Float], weights: [Float], gradOutput: [Float]
}

/// Which packed weights a buffer of `Network.packBuffers` last held: a state entry's, for the forward or the
/// backward-data pass.
struct PackKey: Hashable {
    var offset: Int
    var backwardData: Bool
}
