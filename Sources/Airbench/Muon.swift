import AirbenchKernels

/// Muon (the airbench94_muon record, spec B.1; hiverge's variant, `airbench-hiverge.md` §4.3): Nesterov momentum,
/// then the update replaced by an approximate orthogonalisation of itself (Newton–Schulz), on the 3×3
/// convolution filters; every other parameter stays with `NesterovSGD`. Per filter tensor p (out × in × 3 × 3,
/// seen as an out × in·9 matrix) with gradient g, at a step with Muon rate lr = learningRate·s (s the step's
/// schedule factor):
///
///     buf = momentum·buf + g   (buf starts at 0);   g ← g + momentum·buf
///     p ← p · √out / ‖p‖_F     (weight renormalisation, before the update, when the step renormalises;
///                               hiverge's ‖p‖_F + 1e-7 is the same in fp32 for these norms of 5 to 20)
///     p ← p − lr · NewtonSchulz5(g)
///     p ← p · (1 − lr·weightDecay)   (decoupled weight decay; airbench94_muon has none)
///
/// airbench94_muon renormalises at every step; hiverge at its adaptive interval (`Renormalization`).
public final class Muon: @unchecked Sendable {
    /// When the weights are renormalised (`RunPlan.muonRenormalizationSteps` lists the steps).
    public enum Renormalization: String, Sendable, Equatable, Codable, CaseIterable {
        /// Before every update (airbench94_muon).
        case everyStep
        /// hiverge: at the 1-based step t when t − t_last ≥ 2 + ⌊15t/T⌋ (t_last the previous one, first 0):
        /// 37 of 243 steps, the first at t = 2 (`Schedules.adaptiveRenormalization`).
        case adaptive
    }

    public let learningRate: Double
    public let momentum: Double
    public let coefficients: NewtonSchulz.Coefficients
    public let weightDecay: Double
    let buffers: StateBuffer

    public init(layout: StateLayout, learningRate: Double, momentum: Double,
                coefficients: NewtonSchulz.Coefficients = .muon, weightDecay: Double = 0) {
        self.learningRate = learningRate
        self.momentum = momentum
        self.coefficients = coefficients
        self.weightDecay = weightDecay
        buffers = StateBuffer(layout: layout)
    }

    /// The entries Muon trains: trainable 4-D filters (`p.ndim == 4 and p.requires_grad`).
    public static func trains(_ entry: StateEntry) -> Bool { entry.role == .weight && entry.shape.count == 4 }

    /// One step over every filter entry, renormalising the weights first when `renormalize`.
    public func step(state: StateBuffer, gradients: StateBuffer, scheduleFactor: Double, renormalize: Bool) {
        let m = Float(momentum), lr = Float(learningRate * scheduleFactor)
        let decay = Float(1 - learningRate * scheduleFactor * weightDecay)
        for entry in state.layout.entries where Self.trains(entry) {
            let p = state.pointer(entry), g = gradients.pointer(entry), buf = buffers.pointer(entry)
            var update = [Float](repeating: 0, count: entry.count)
            for i in 0..<entry.count {
                buf[i] = m * buf[i] + g[i]
                update[i] = g[i] + m * buf[i]
            }
            let rows = entry.shape[0]
            let orthogonal = NewtonSchulz.orthogonalize(update, rows: rows, columns: entry.count / rows,
                                                        coefficients: coefficients)
            if renormalize {
                let factor = Float(Double(rows).squareRoot() / Self.frobeniusNorm(p, count: entry.count))
                for i in 0..<entry.count { p[i] = p[i] * factor - lr * orthogonal[i] }
            } else {
                for i in 0..<entry.count { p[i] -= lr * orthogonal[i] }
            }
            if weightDecay != 0 { for i in 0..<entry.count { p[i] *= decay } }
        }
    }

    static func frobeniusNorm(_ x: UnsafePointer<Float>, count: Int) -> Double {
        var sum = 0.0
        for i in 0..<count { sum += Double(x[i]) * Double(x[i]) }
        return sum.squareRoot()
    }
}

/// `zeropower_via_newtonschulz5` (spec B.1): the quintic Newton–Schulz iteration that maps G = USVᵀ to roughly
/// US′Vᵀ with S′ ≈ U(0.5, 1.5) — orthogonalisation that tolerates inexact singular values, in 3 steps.
public enum NewtonSchulz {
    /// The quintic's coefficients (a, b, c).
    public enum Coefficients: String, Sendable, Equatable, Codable, CaseIterable {
        /// airbench94_muon's (3.4445, −4.7750, 2.0315), chosen by the record's author to maximise the slope at zero.
        case muon
        /// hiverge's (3.4576, −4.7391, 2.0843): σ = 1 maps to 0.80 after 3 steps instead of 0.72 (§4.3).
        case hiverge

        public var values: (a: Double, b: Double, c: Double) {
            switch self {
            case .muon: (3.4445, -4.7750, 2.0315)
            case .hiverge: (3.4576, -4.7391, 2.0843)
            }
        }
    }

    /// X = G/(‖G‖_F + eps), transposed when rows > columns; `steps` times X ← aX + (bA + cA²)X with A = XXᵀ;
    /// transposed back. G is row-major rows × columns; so is the result. The products run on the convolution
    /// kernels (as 1×1 convolutions), so in the precision active (airbench94_muon computes in bfloat16, hiverge
    /// in float16). hiverge scales G by a "target magnitude" τ before this normalisation, which cancels to
    /// within 1.3e-4 (§4.3): this normalisation is its too.
    public static func orthogonalize(_ g: [Float], rows: Int, columns: Int, coefficients: Coefficients = .muon,
                                     steps: Int = 3, eps: Double = 1e-7) -> [Float] {
        let norm = Muon.frobeniusNorm(g, count: g.count)
        let scale = Float(1 / (norm + eps))
        let tall = rows > columns
        var x = g.map { $0 * scale }
        if tall { x = transpose(x, rows: rows, columns: columns) }
        let (r, c) = tall ? (columns, rows) : (rows, columns)
        let values = coefficients.values, (a, b, cc) = (Float(values.a), Float(values.b), Float(values.c))
        for _ in 0..<steps {
            let gram = product(x, transpose: x, rows: r, inner: c, columns: r)          // A = X Xᵀ (r × r)
            let square = product(gram, transpose: gram, rows: r, inner: r, columns: r)  // A² = A Aᵀ (A symmetric)
            var poly = [Float](repeating: 0, count: r * r)
            for i in 0..<r * r { poly[i] = b * gram[i] + cc * square[i] }
            let step = product(poly, transpose: transpose(x, rows: r, columns: c), rows: r, inner: r, columns: c)
            for i in 0..<r * c { x[i] = a * x[i] + step[i] }
        }
        return tall ? transpose(x, rows: r, columns: c) : x
    }

    /// A·Bᵀ for row-major A (rows × inner) and B (columns × inner): a 1×1 convolution of `rows` pixels with
    /// `inner` input and `columns` output channels.
    static func product(_ a: [Float], transpose b: [Float], rows: Int, inner: Int, columns: Int) -> [Float] {
        let shape = ConvolutionShape(batch: 1, inputHeight: 1, inputWidth: rows, inputChannels: inner,
                                     outputChannels: columns, kernelSize: 1, padding: 0)
        var out = [Float](repeating: 0, count: rows * columns)
        b.withUnsafeBufferPointer { w in
            let packed = PackedWeights.forward(w.baseAddress!, shape: shape)
            a.withUnsafeBufferPointer { x in
                out.withUnsafeMutableBufferPointer { Convolution.forward(shape, input: x.baseAddress!, weights: packed, output: $0.baseAddress!) }
            }
        }
        return out
    }

    static func transpose(_ x: [Float], rows: Int, columns: Int) -> [Float] {
        var out = [Float](repeating: 0, count: x.count)
        for i in 0..<rows { for j in 0..<columns { out[j * rows + i] = x[i * columns + j] } }
        return out
    }
}

extension Muon {
    static func frobeniusNorm(_ x: [Float], count: Int) -> Double {
        x.withUnsafeBufferPointer { frobeniusNorm($0.baseAddress!, count: count) }
    }
}
