/// The learning-rate and Lookahead schedules of the family, as multipliers indexed by the 0-based step
/// 0...total (step k of training uses entry k, as PyTorch's `LambdaLR`).
///
/// Every learning-rate schedule of the family is one piecewise-linear shape through (0, start), (⌊peak·T⌋, 1)
/// and (T, end); the named forms below are the methods' choices of those three numbers.
public enum Schedules {
    /// Listing 4's `triangle(total, start, end, peak)` at step x: piecewise linear through (0, start),
    /// (⌊peak·total⌋, 1), (total, end). airbench94/95/96-paper: start 0.2, peak 0.23, end 0.07 (never reaches 0).
    public static func triangle(step x: Int, totalSteps: Int, start: Double, peak: Double, end: Double) -> Double {
        let top = Int(peak * Double(totalSteps))
        if x < top { return start + (1 - start) * Double(x) / Double(top) }
        return 1 + (end - 1) * Double(x - top) / Double(totalSteps - top)
    }

    /// `triangle` at every step 0...total.
    public static func triangle(totalSteps: Int, start: Double, peak: Double, end: Double) -> [Double] {
        (0...totalSteps).map { triangle(step: $0, totalSteps: totalSteps, start: start, peak: peak, end: end) }
    }

    /// The 2024 airbench96 and airbench96_faster `get_lr`: linear warm-up from 0.2 to 1 over ⌊warmup·T⌋ steps,
    /// then (T − k)/(T − W), linear to 0 at the end.
    public static func warmupThenLinear(totalSteps: Int, warmup: Double = 0.1) -> [Double] {
        triangle(totalSteps: totalSteps, start: 0.2, peak: warmup, end: 0)
    }

    /// airbench94_muon: 1 − k/T, no warm-up.
    public static func linearDecay(totalSteps: Int) -> [Double] {
        triangle(totalSteps: totalSteps, start: 1, peak: 0, end: 0)
    }

    /// Lookahead decay after step t: 0.95⁵·(t/total)³.
    public static func lookaheadDecay(step: Int, totalSteps: Int) -> Double {
        0.95 * 0.95 * 0.95 * 0.95 * 0.95 * pow3(Double(step) / Double(totalSteps))
    }

    /// `lookaheadDecay` at every step 0...total.
    public static func lookaheadDecay(totalSteps: Int) -> [Double] {
        (0...totalSteps).map { lookaheadDecay(step: $0, totalSteps: totalSteps) }
    }

    /// hiverge's adaptive renormalisation of Muon's weights (`airbench-hiverge.md` §4.3): the 1-based steps
    /// t = 1…total at which t − t_last ≥ 2 + ⌊15t/total⌋, t_last being the previous such step (0 before the
    /// first). The interval grows from 2 to 17; for 243 steps: 37 of them, 2, 4, …, 230.
    public static func adaptiveRenormalization(totalSteps: Int) -> [Int] {
        guard totalSteps > 0 else { return [] }
        var steps = [Int](), last = 0
        for t in 1...totalSteps where t - last >= 2 + 15 * t / totalSteps {
            steps.append(t)
            last = t
        }
        return steps
    }

    private static func pow3(_ x: Double) -> Double { x * x * x }
}
