/// Which bf16 Winograd products are accurate enough for which pass: the bound, and the errors it is applied to as
/// `airbench bench --errors` measured them on airbench94 (BENCHMARKS.md, "bf16 Winograd products (issue 22)").
/// `ConvolutionAlgorithm.autoBF16Winograd` considers a bf16 Winograd only for the passes admitted here.
public enum BFloat16Winograd {
    /// A bf16 Winograd is admissible for a pass when its normwise relative error against the exact result is at most
    /// this multiple of bf16-direct's on the same operands. bf16-direct is the error known to train as well as fp32
    /// (3 full runs, README "Results"); twice it is one more bit of bf16's 8-bit significand lost. A screen, not a
    /// verdict: full runs decide.
    public static let errorBound = 2.0

    /// The expected ratio of a bf16 F(m×m) pass's error to bf16-direct's, for independent zero-mean operands: 5/3
    /// for F(2×2), 6205/576 ≈ 10.8 for F(4×4), the same for all three passes.
    ///
    /// Rounding x to bf16 gives x(1 + δ) with δ of some variance σ², independent of x. Direct: each output sums 9·C
    /// products p, each off by p(δ₁ + δ₂), so E[e²] = 2σ²·Σ E[p²] and E[y²] = Σ E[p²]: relative error √2·σ. F(m×m):
    /// an output is Σᵢₗ Aᵀ[a,i]Aᵀ[b,l] Σ_c U V over the positions (i, l), each product off by (δ_U + δ_V), and
    /// E[V²] ∝ ‖Bᵀᵢ‖²‖Bᵀₗ‖², E[U²] ∝ ‖Gᵢ‖²‖Gₗ‖² (rows of Bᵀ and G). So E[e²]/E[y²] = 2σ²·f(a)f(b)/9 with
    /// f(a) = Σᵢ Aᵀ[a,i]²‖Bᵀᵢ‖²‖Gᵢ‖², and over the m² outputs of a tile the ratio to direct's is mean(f)/3: F(2×2)
    /// f = (5, 5); F(4×4) f = (433/48, 103/12, 52/3, 283/3), whose last row and column (Aᵀ's 8s meeting Bᵀ's 5s)
    /// carry most of it. The weight gradient (G and A exchanged, summed over m² outputs per tile) gives the same
    /// numbers. Measured on uniform random operands (BFloat16WinogradTests) 10–20% above, as the transformed values'
    /// significands round a little worse than uniform ones; on real activations BENCHMARKS.md has them per layer.
    public static func amplification(tile: Int) -> Double { tile == 4 ? 6205.0 / 576 : 5.0 / 3 }

    /// One pass of one layer as measured: the relative errors ‖y − y₆₄‖/‖y₆₄‖ of the bf16 arithmetics.
    public struct Measurement: Sendable {
        public var layer: String
        public var pass: ConvolutionPass
        /// The shape the pass runs on (backward-data: the forward shape's `backwardDataShape`) at batch 1: what
        /// `admissible` finds a pass by.
        public var run: ConvolutionShape
        public var direct: Double, winograd: Double, winograd4x4: Double

        /// The measured error of `algorithm` (bf16-direct, bf16-F(2×2) or bf16-F(4×4)) on this pass.
        public func error(_ algorithm: ConvolutionAlgorithm) -> Double? {
            switch algorithm {
            case .direct: direct
            case .winogradBF16: winograd
            case .winograd4x4BF16: winograd4x4
            default: nil
            }
        }
    }

    /// The passes measured (airbench94, widths 64/256/256).
    public static let measured: [Measurement] = []

    /// Whether `algorithm` (a bf16 Winograd) keeps `pass`, run on `run`, within `errorBound` of bf16-direct: false
    /// for a pass not measured.
    public static func admissible(_ algorithm: ConvolutionAlgorithm, forPass run: ConvolutionShape,
                                  _ pass: ConvolutionPass) -> Bool {
        var key = run
        key.batch = 1
        guard let measurement = measured.first(where: { $0.pass == pass && $0.run == key }),
              let error = measurement.error(algorithm), algorithm != .direct else { return false }
        return error <= errorBound * measurement.direct
    }
}
