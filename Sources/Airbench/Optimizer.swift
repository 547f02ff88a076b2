import AirbenchKernels

/// Nesterov SGD with the paper's decoupled hyperparameters (Listing 4 `main`), at the rates `SGDRates` converts
/// them to (PyTorch's units). Per parameter group, as `torch.optim.SGD(nesterov=True)` with
/// `weight_decay = wd/lr_group`:
///
///     g = grad + (wd/lr_group)·p;  buf = momentum·buf + g (buf = g at the first step);  p −= lr_group·s·(g + momentum·buf)
///
/// where s is the step's schedule factor of the group. Momentum buffers share the state layout. Entries that
/// `skip` names (Muon's filters) are left to another optimizer.
public final class NesterovSGD: @unchecked Sendable {
    public let rates: SGDRates
    public let momentum: Double
    let buffers: StateBuffer
    let skip: (StateEntry) -> Bool
    private var started: Set<String> = []

    public init(layout: StateLayout, hyperparameters h: Hyperparameters, skip: @escaping (StateEntry) -> Bool = { _ in false }) {
        rates = SGDRates(h)
        momentum = h.momentum
        buffers = StateBuffer(layout: layout)
        self.skip = skip
    }

    /// One step over every trainable entry; the whitening bias only when `whitenBiasTrainable`, with its own
    /// schedule factor.
    public func step(state: StateBuffer, gradients: StateBuffer, scheduleFactor: Double, whitenBiasFactor: Double? = nil,
                     whitenBiasTrainable: Bool) {
        for entry in state.layout.entries where !skip(entry) {
            let groupRate: Double, factor: Double
            switch entry.role {
            case .weight: (groupRate, factor) = (rates.weights, scheduleFactor)
            case .normBias: (groupRate, factor) = (rates.normBiases, scheduleFactor)
            case .whitenBias where whitenBiasTrainable:
                (groupRate, factor) = (rates.whitenBias, whitenBiasFactor ?? scheduleFactor)
            case .whitenBias, .frozen: continue
            }
            let lr = Float(groupRate * factor), wd = Float(rates.decayPerStep / groupRate), m = Float(momentum)
            ParameterUpdate.nesterov(parameters: state.pointer(entry), gradients: gradients.pointer(entry),
                                     buffer: buffers.pointer(entry), count: entry.count, learningRate: lr,
                                     weightDecay: wd, momentum: m, first: started.insert(entry.name).inserted)
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
        ParameterUpdate.lookahead(fast: state.storage.pointer, slow: slow.storage.pointer, count: state.layout.count,
                                  weight: Float(1 - decay))
    }
}
