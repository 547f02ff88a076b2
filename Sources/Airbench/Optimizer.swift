import AirbenchKernels

/// Nesterov SGD with the paper's decoupled hyperparameters (Listing 4 `main`): with
/// kilostep = 1024·(1 + 1/(1 − momentum)), PyTorch's lr = learningRate/kilostep and weight decay
/// wd = weightDecay·batchSize/kilostep; BatchNorm biases use lr·biasScaler. Per parameter group, as
/// `torch.optim.SGD(nesterov=True)` with `weight_decay = wd/lr_group`:
///
///     g = grad + (wd/lr_group)·p;  buf = momentum·buf + g (buf = g at the first step);  p −= lr_group·s·(g + momentum·buf)
///
/// where s is the schedule factor of the step. Momentum buffers share the state layout.
public final class NesterovSGD: @unchecked Sendable {
    public let baseLearningRate: Double
    public let biasLearningRate: Double
    public let decay: Double
    public let momentum: Double
    let buffers: StateBuffer
    private var started: Set<String> = []

    public init(layout: StateLayout, hyperparameters h: Hyperparameters94) {
        let kilostep = 1024 * (1 + 1 / (1 - h.momentum))
        baseLearningRate = h.learningRate / kilostep
        biasLearningRate = baseLearningRate * h.biasScaler
        decay = h.weightDecay * Double(h.batchSize) / kilostep
        momentum = h.momentum
        buffers = StateBuffer(layout: layout)
    }

    /// One step over every trainable entry; the whitening bias only when `whitenBiasTrainable`.
    public func step(state: StateBuffer, gradients: StateBuffer, scheduleFactor: Double, whitenBiasTrainable: Bool) {
        for entry in state.layout.entries {
            let groupRate: Double
            switch entry.role {
            case .weight: groupRate = baseLearningRate
            case .normBias: groupRate = biasLearningRate
            case .whitenBias where whitenBiasTrainable: groupRate = baseLearningRate
            case .whitenBias, .frozen: continue
            }
            let lr = Float(groupRate * scheduleFactor), wd = Float(decay / groupRate), m = Float(momentum)
            let p = state.pointer(entry), g = gradients.pointer(entry), buf = buffers.pointer(entry)
            let first = started.insert(entry.name).inserted
            for i in 0..<entry.count {
                let d = g[i] + wd * p[i]
                buf[i] = first ? d : m * buf[i] + d
                p[i] -= lr * (d + m * buf[i])
            }
        }
    }
}

/// Lookahead (paper Section 3.4, Listing 4 `LookaheadState`): a slow copy of the whole state (parameters and
/// running statistics) that is pulled toward the fast weights and then copied back into them.
public final class Lookahead: @unchecked Sendable {
    let slow: StateBuffer

    /// Snapshots `state` now.
    public init(state: StateBuffer) { slow = state.clone() }

    /// slow ← slow + (1 − decay)·(fast − slow); fast ← slow.
    public func update(state: StateBuffer, decay: Double) {
        let s = slow.storage.pointer, f = state.storage.pointer, weight = Float(1 - decay)
        for i in 0..<state.layout.count {
            s[i] += weight * (f[i] - s[i])  // torch.lerp_(start, end, weight) = start + weight·(end − start)
            f[i] = s[i]
        }
    }
}

/// Schedules of Listing 4, indexed by step 0...total.
public enum Schedules {
    /// `triangle(total, start, end, peak)`: piecewise linear through (0, start), (⌊peak·total⌋, 1), (total, end).
    public static func triangle(totalSteps: Int, start: Double, peak: Double, end: Double) -> [Double] {
        let top = Int(peak * Double(totalSteps))
        return (0...totalSteps).map { x in
            if x < top { return start + (1 - start) * Double(x) / Double(top) }
            return 1 + (end - 1) * Double(x - top) / Double(totalSteps - top)
        }
    }

    /// Lookahead decay at each step: 0.95⁵·(step/total)³.
    public static func lookaheadDecay(totalSteps: Int) -> [Double] {
        (0...totalSteps).map { 0.95 * 0.95 * 0.95 * 0.95 * 0.95 * pow3(Double($0) / Double(totalSteps)) }
    }

    private static func pow3(_ x: Double) -> Double { x * x * x }
}
