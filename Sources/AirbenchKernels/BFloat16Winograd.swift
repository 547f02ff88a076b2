/// Which bf16 Winograd products are accurate enough for which pass: the bound, and the errors it is applied to as
/// `airbench bench --errors` measured them on airbench94 (BENCHMARKS.md, "bf16 Winograd products (issue 22)").
/// `ConvolutionAlgorithm.auto` in bf16 considers a bf16 Winograd only for the passes admitted here.
public enum BFloat16Winograd {
    /// A bf16 Winograd is admissible for a pass when its normwise relative error against the exact result is at most
    /// this multiple of bf16-direct's on the same operands: F(4×4)'s amplification for independent operands
    /// (`amplification(tile: 4)`, 10.8) rounded up. Full airbench94 runs with bf16-F(4×4) on every 3×3 pass, whose
    /// measured errors are 2.5–9.1× bf16-direct's, train to fp32's accuracy (BENCHMARKS.md, "bf16 Winograd
    /// products: full runs"); a pass whose real operands pushed the error past what independent ones give would be
    /// outside what those runs tested. (The first screen, twice bf16-direct's error, admitted F(2×2) only; the runs
    /// showed it needlessly strict.)
    public static let errorBound = 11.0

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
    /// numbers. Measured on uniform random operands (BFloat16WinogradTests): 0.98–1.17× these, as the transformed
    /// values' significands round a little worse than uniform ones; on real activations, per layer, BENCHMARKS.md.
    public static func amplification(tile: Int) -> Double { tile == 4 ? 6205.0 / 576 : 5.0 / 3 }

    /// One pass of one layer as measured: the relative errors ‖y − y₆₄‖/‖y₆₄‖ of the bf16 arithmetics.
    public struct Measurement: Sendable {
        public var layer: String
        public var pass: ConvolutionPass
        /// Training steps before the measurement.
        public var steps: Int
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

    /// The passes of airbench94 (widths 64/256/256) as `airbench bench --errors --data ../shared/data [--steps 200]`
    /// measured them on the Zen 5 on 2026-12-06, after 50 and after 200 training steps (batch 16): bf16-F(2×2) at
    /// 0.97–1.91× bf16-direct's error (rising with training), bf16-F(4×4) at 2.5–9.1×, so both are within `errorBound`
    /// on every pass at both (F(4×4) was outside the first screen's bound of 2).
    public static let measured: [Measurement] = [
        Measurement(layer: "2.conv1", pass: .forward, steps: 50, run: shape(31, 24, 64, output: 30),
                    direct: 0.0014, winograd: 0.0026, winograd4x4: 0.0109),
        Measurement(layer: "2.conv1", pass: .backwardData, steps: 50, run: shape(30, 64, 24, output: 31),
                    direct: 0.00142, winograd: 0.0021, winograd4x4: 0.0123),
        Measurement(layer: "2.conv1", pass: .backwardWeights, steps: 50, run: shape(31, 24, 64, output: 30),
                    direct: 0.00139, winograd: 0.00174, winograd4x4: 0.0106),
        Measurement(layer: "2.conv2", pass: .forward, steps: 50, run: shape(15, 64, 64),
                    direct: 0.000997, winograd: 0.00156, winograd4x4: 0.0048),
        Measurement(layer: "2.conv2", pass: .backwardData, steps: 50, run: shape(15, 64, 64),
                    direct: 0.00145, winograd: 0.00201, winograd4x4: 0.00928),
        Measurement(layer: "2.conv2", pass: .backwardWeights, steps: 50, run: shape(15, 64, 64),
                    direct: 0.00188, winograd: 0.00283, winograd4x4: 0.0135),
        Measurement(layer: "3.conv1", pass: .forward, steps: 50, run: shape(15, 64, 256, output: 14),
                    direct: 0.00109, winograd: 0.00167, winograd4x4: 0.00599),
        Measurement(layer: "3.conv1", pass: .backwardData, steps: 50, run: shape(14, 256, 64, output: 15),
                    direct: 0.00178, winograd: 0.00246, winograd4x4: 0.0154),
        Measurement(layer: "3.conv1", pass: .backwardWeights, steps: 50, run: shape(15, 64, 256, output: 14),
                    direct: 0.00238, winograd: 0.00279, winograd4x4: 0.016),
        Measurement(layer: "3.conv2", pass: .forward, steps: 50, run: shape(7, 256, 256),
                    direct: 0.000997, winograd: 0.00116, winograd4x4: 0.004),
        Measurement(layer: "3.conv2", pass: .backwardData, steps: 50, run: shape(7, 256, 256),
                    direct: 0.00188, winograd: 0.00201, winograd4x4: 0.00887),
        Measurement(layer: "3.conv2", pass: .backwardWeights, steps: 50, run: shape(7, 256, 256),
                    direct: 0.00233, winograd: 0.00355, winograd4x4: 0.0163),
        Measurement(layer: "4.conv1", pass: .forward, steps: 50, run: shape(7, 256, 256, output: 6),
                    direct: 0.00108, winograd: 0.00126, winograd4x4: 0.00417),
        Measurement(layer: "4.conv1", pass: .backwardData, steps: 50, run: shape(6, 256, 256, output: 7),
                    direct: 0.00192, winograd: 0.0021, winograd4x4: 0.00905),
        Measurement(layer: "4.conv1", pass: .backwardWeights, steps: 50, run: shape(7, 256, 256, output: 6),
                    direct: 0.00234, winograd: 0.00305, winograd4x4: 0.0168),
        Measurement(layer: "4.conv2", pass: .forward, steps: 50, run: shape(3, 256, 256),
                    direct: 0.0015, winograd: 0.00149, winograd4x4: 0.00379),
        Measurement(layer: "4.conv2", pass: .backwardData, steps: 50, run: shape(3, 256, 256),
                    direct: 0.00184, winograd: 0.00179, winograd4x4: 0.00528),
        Measurement(layer: "4.conv2", pass: .backwardWeights, steps: 50, run: shape(3, 256, 256),
                    direct: 0.00243, winograd: 0.00338, winograd4x4: 0.00928),
        Measurement(layer: "2.conv1", pass: .forward, steps: 200, run: shape(31, 24, 64, output: 30),
                    direct: 0.00117, winograd: 0.00224, winograd4x4: 0.009),
        Measurement(layer: "2.conv1", pass: .backwardData, steps: 200, run: shape(30, 64, 24, output: 31),
                    direct: 0.0013, winograd: 0.00194, winograd4x4: 0.0119),
        Measurement(layer: "2.conv1", pass: .backwardWeights, steps: 200, run: shape(31, 24, 64, output: 30),
                    direct: 0.00212, winograd: 0.0025, winograd4x4: 0.0148),
        Measurement(layer: "2.conv2", pass: .forward, steps: 200, run: shape(15, 64, 64),
                    direct: 0.000974, winograd: 0.0017, winograd4x4: 0.00703),
        Measurement(layer: "2.conv2", pass: .backwardData, steps: 200, run: shape(15, 64, 64),
                    direct: 0.00122, winograd: 0.00209, winograd4x4: 0.0104),
        Measurement(layer: "2.conv2", pass: .backwardWeights, steps: 200, run: shape(15, 64, 64),
                    direct: 0.00209, winograd: 0.00342, winograd4x4: 0.0154),
        Measurement(layer: "3.conv1", pass: .forward, steps: 200, run: shape(15, 64, 256, output: 14),
                    direct: 0.000941, winograd: 0.00169, winograd4x4: 0.00737),
        Measurement(layer: "3.conv1", pass: .backwardData, steps: 200, run: shape(14, 256, 64, output: 15),
                    direct: 0.00152, winograd: 0.00227, winograd4x4: 0.0138),
        Measurement(layer: "3.conv1", pass: .backwardWeights, steps: 200, run: shape(15, 64, 256, output: 14),
                    direct: 0.00228, winograd: 0.00294, winograd4x4: 0.019),
        Measurement(layer: "3.conv2", pass: .forward, steps: 200, run: shape(7, 256, 256),
                    direct: 0.000879, winograd: 0.00137, winograd4x4: 0.00575),
        Measurement(layer: "3.conv2", pass: .backwardData, steps: 200, run: shape(7, 256, 256),
                    direct: 0.00129, winograd: 0.00214, winograd4x4: 0.0087),
        Measurement(layer: "3.conv2", pass: .backwardWeights, steps: 200, run: shape(7, 256, 256),
                    direct: 0.00213, winograd: 0.00361, winograd4x4: 0.0182),
        Measurement(layer: "4.conv1", pass: .forward, steps: 200, run: shape(7, 256, 256, output: 6),
                    direct: 0.00095, winograd: 0.00166, winograd4x4: 0.00594),
        Measurement(layer: "4.conv1", pass: .backwardData, steps: 200, run: shape(6, 256, 256, output: 7),
                    direct: 0.00166, winograd: 0.0023, winograd4x4: 0.00929),
        Measurement(layer: "4.conv1", pass: .backwardWeights, steps: 200, run: shape(7, 256, 256, output: 6),
                    direct: 0.00232, winograd: 0.003, winograd4x4: 0.0186),
        Measurement(layer: "4.conv2", pass: .forward, steps: 200, run: shape(3, 256, 256),
                    direct: 0.0014, winograd: 0.00177, winograd4x4: 0.00447),
        Measurement(layer: "4.conv2", pass: .backwardData, steps: 200, run: shape(3, 256, 256),
                    direct: 0.00124, winograd: 0.00157, winograd4x4: 0.00413),
        Measurement(layer: "4.conv2", pass: .backwardWeights, steps: 200, run: shape(3, 256, 256),
                    direct: 0.00242, winograd: 0.00331, winograd4x4: 0.00858),
    ]

    /// A square 3×3 pass with padding 1 at batch 1 reading `inputChannels` at side `input`, writing `outputChannels`
    /// at side `output` (the part a max-pool reads, or the full input side of a backward-data pass).
    private static func shape(_ input: Int, _ inputChannels: Int, _ outputChannels: Int, output: Int? = nil)
        -> ConvolutionShape {
        ConvolutionShape(batch: 1, inputHeight: input, inputWidth: input, inputChannels: inputChannels,
                         outputChannels: outputChannels, kernelSize: 3, padding: 1, outputHeight: output ?? input,
                         outputWidth: output ?? input)
    }

    /// Whether `algorithm` (a bf16 Winograd) keeps `pass`, run on `run`, within `errorBound` of bf16-direct in every
    /// measurement of that pass: false for a pass not measured.
    public static func admissible(_ algorithm: ConvolutionAlgorithm, forPass run: ConvolutionShape,
                                  _ pass: ConvolutionPass) -> Bool {
        var key = run
        key.batch = 1
        let measurements = measured.filter { $0.pass == pass && $0.run == key }
        guard algorithm != .direct, !measurements.isEmpty else { return false }
        return measurements.allSatisfy { m in m.error(algorithm).map { $0 <= errorBound * m.direct } ?? false }
    }
}
