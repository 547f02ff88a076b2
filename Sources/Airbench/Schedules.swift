/// The learning-rate and Lookahead schedules of the family, as multipliers indexed by the 0-based step
/// 0...total (step k of training uses entry k, as PyTorch's `LambdaLR`).
///
/// Every learning-rate schedule of the family is one piecewise-linear shape through (0, start), (⌊peak·T⌋, 1)
/// and (T, end); the named forms below are the methods' choices of those three numbers.
public enum Schedules {
    /// Listing 4's `triangle(total, start, end, peak)`: piecewise linear through (0, start), (⌊peak·total⌋, 1),
    /// (total, end). airbench94/95/96-paper: start 0.2, peak 0.23, end 0.07 (never reaches 0).
    public static func triangle(totalSteps: Int, start: Double, peak: Double, end: Double) -> [Double] {
        let top = Int(peak * Double(totalSteps))
        return (0...totalSteps).map { x in
            if x < top { return start + (1 - start) * Double(x) / Double(top) }
            return 1 + (end - 1) * Double(x - top) / Double(totalSteps - top)
        }
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

    /// Lookahead decay at each step: 0.95⁵·(step/total)³.
    public static func lookaheadDecay(totalSteps: Int) -> [Double] {
        (0...totalSteps).map { 0.95 * 0.95 * 0.95 * 0.95 * 0.95 * pow3(Double($0) / Double(totalSteps)) }
    }

    private static func pow3(_ x: Double) -> Double { x * x * x }
}

/// The learning-rate multipliers of one run, per parameter group: the main schedule, and the whitening bias's
/// (which airbench94_muon decays on its own, to 0 at the step it freezes).
public struct GroupSchedules: Sendable {
    /// Multiplier of every group at 0-based step k (k in 0...totalSteps).
    public let main: [Double]
    /// Multiplier of the whitening bias at step k; only read while it trains (k < whitenBiasSteps).
    public let whitenBias: [Double]
    /// Steps during which the whitening bias trains (0-based steps 0..<whitenBiasSteps).
    public let whitenBiasSteps: Int
    /// Lookahead decay after 1-based step t (t in 0...totalSteps).
    public let lookaheadDecay: [Double]

    /// The schedules of a run of `totalSteps` steps with `stepsPerEpoch` steps per (loader) epoch.
    public init(_ h: Hyperparameters, totalSteps: Int, stepsPerEpoch: Int) {
        main = Schedules.triangle(totalSteps: totalSteps, start: h.scheduleStart, peak: h.schedulePeak, end: h.scheduleEnd)
        let frozenAt = (h.whitenBiasEpochs ?? .infinity) * Double(stepsPerEpoch)
        whitenBiasSteps = frozenAt >= Double(totalSteps) ? totalSteps : Int(frozenAt.rounded(.up))
        switch h.whitenBiasSchedule {
        case .main: whitenBias = main
        case .linearToFreeze:
            whitenBias = whitenBiasSteps > 0 ? Schedules.linearDecay(totalSteps: whitenBiasSteps) : [0]
        }
        lookaheadDecay = Schedules.lookaheadDecay(totalSteps: totalSteps)
    }
}
