import Foundation

/// A t-test of a difference of means: the difference, its 95% confidence interval, the t statistic, its degrees of
/// freedom and the two-sided p-value, for two samples of runs (`welch`) or for pairs measured on the same runs
/// (`paired`).
public struct TTest: Equatable, Codable, Sendable {
    /// mean(a) − mean(b) (`welch`) or mean(a − b) (`paired`).
    public var difference: Double
    /// The lower and upper ends of the 95% confidence interval of the difference.
    public var low: Double
    public var high: Double
    /// The t statistic, difference / standard error.
    public var t: Double
    public var degreesOfFreedom: Double
    public var pValue: Double

    /// Welch's unequal-variance test of mean(a) − mean(b), as `scipy.stats.ttest_ind(a, b, equal_var=False)`.
    ///
    /// With v_a = s_a²/n_a and v_b = s_b²/n_b (sample variances, n − 1): t = (ā − b̄)/√(v_a + v_b), the
    /// Welch–Satterthwaite degrees of freedom ν = (v_a + v_b)² / (v_a²/(n_a − 1) + v_b²/(n_b − 1)).
    ///
    /// Degenerate samples give defined values instead of NaN: a sample of one run has variance 0 and adds
    /// nothing to ν's denominator; when both variances are 0 (constant runs), ν = n_a + n_b − 2 (the pooled
    /// value), the interval collapses to the difference, and t is 0 with p = 1 for equal means, ±∞ with p = 0
    /// otherwise. Empty samples give NaN (there is no mean).
    public static func welch(_ a: [Double], _ b: [Double]) -> TTest {
        let difference = Statistics.mean(a) - Statistics.mean(b)
        let va = Statistics.variance(a) / Double(a.count), vb = Statistics.variance(b) / Double(b.count)
        // A one-run sample has variance 0: its term is 0, not 0/0.
        func term(_ v: Double, _ n: Int) -> Double { n >= 2 ? v * v / Double(n - 1) : 0 }
        let se = (va + vb).squareRoot()
        let nu = se > 0 ? (va + vb) * (va + vb) / (term(va, a.count) + term(vb, b.count)) : Double(a.count + b.count - 2)
        return TTest(difference: difference, standardError: se, degreesOfFreedom: nu)
    }

    /// The paired test of mean(a − b) over pairs (a_r, b_r) measured on the same run r, as
    /// `scipy.stats.ttest_rel(a, b)`: for two TTA levels of the same runs, whose run-to-run spread is shared and
    /// cancels in the difference (Welch's test, which ignores the pairing, is far less sensitive there).
    /// With d_r = a_r − b_r over n pairs: t = d̄ / (s_d/√n), ν = n − 1. Constant differences give t = ±∞ with
    /// p = 0 (t = 0, p = 1 when all are 0); fewer than two pairs give NaN (there is no spread to test against).
    public static func paired(_ a: [Double], _ b: [Double]) -> TTest {
        precondition(a.count == b.count, "a paired test needs as many values in each sample")
        let d = zip(a, b).map { $0 - $1 }
        guard d.count >= 2 else {
            return TTest(difference: Statistics.mean(d), low: .nan, high: .nan, t: .nan, degreesOfFreedom: Double(d.count - 1), pValue: .nan)
        }
        return TTest(difference: Statistics.mean(d), standardError: Statistics.standardDeviation(d) / Double(d.count).squareRoot(),
                     degreesOfFreedom: Double(d.count - 1))
    }

    public init(difference: Double, low: Double, high: Double, t: Double, degreesOfFreedom: Double, pValue: Double) {
        (self.difference, self.low, self.high, self.t, self.degreesOfFreedom, self.pValue) = (difference, low, high, t, degreesOfFreedom, pValue)
    }

    /// The test of a difference with standard error `se` and ν degrees of freedom: the two-sided p-value
    /// 2·P(T_ν > |t|) and the interval difference ± t₀.₉₇₅,ν · se; with se = 0 (no spread) the interval collapses
    /// and t is 0 or ±∞.
    init(difference: Double, standardError se: Double, degreesOfFreedom nu: Double) {
        (self.difference, degreesOfFreedom) = (difference, nu)
        guard se > 0 else {
            (low, high) = (difference, difference)
            t = difference == 0 ? 0 : (difference > 0 ? .infinity : -.infinity)
            pValue = difference == 0 ? 1 : 0
            if difference.isNaN { (t, pValue) = (.nan, .nan) }
            return
        }
        t = difference / se
        pValue = min(1, 2 * Statistics.studentTTail(abs(t), nu))
        let half = Statistics.studentTQuantile(0.975, degreesOfFreedom: nu) * se
        (low, high) = (difference - half, difference + half)
    }
}
