import Foundation

/// The paired t-test of mean(a − b) over pairs (a_r, b_r) measured on the same run r, as
/// `scipy.stats.ttest_rel(a, b)`: for two TTA levels of the same runs, whose run-to-run spread is shared and
/// cancels in the difference (Welch's test, which ignores the pairing, would be far less sensitive).
///
/// With d_r = a_r − b_r over n pairs: t = d̄ / (s_d/√n), ν = n − 1, the two-sided p-value 2·P(T_ν > |t|) and the
/// 95% interval d̄ ± t₀.₉₇₅,ν · s_d/√n. Constant differences (s_d = 0) give t = ±∞ with p = 0, or t = 0 with
/// p = 1 when they are all 0; fewer than two pairs give NaN (there is no spread to test against).
public struct PairedTest: Equatable, Codable, Sendable {
    /// mean(a − b).
    public var difference: Double
    /// The 95% confidence interval of the mean difference.
    public var low: Double
    public var high: Double
    /// The t statistic and its degrees of freedom, n − 1.
    public var t: Double
    public var degreesOfFreedom: Double
    /// The two-sided p-value.
    public var pValue: Double

    /// Tests pairs (a[r], b[r]); a and b must be equally long.
    public init(_ a: [Double], _ b: [Double]) {
        precondition(a.count == b.count, "a paired test needs as many values in each sample")
        let d = zip(a, b).map { $0 - $1 }
        difference = Statistics.mean(d)
        degreesOfFreedom = Double(d.count - 1)
        guard d.count >= 2 else { (low, high, t, pValue) = (.nan, .nan, .nan, .nan); return }
        let se = Statistics.standardDeviation(d) / Double(d.count).squareRoot()
        guard se > 0 else {
            (low, high) = (difference, difference)
            t = difference == 0 ? 0 : (difference > 0 ? .infinity : -.infinity)
            pValue = difference == 0 ? 1 : 0
            return
        }
        t = difference / se
        pValue = min(1, 2 * Statistics.studentTTail(abs(t), degreesOfFreedom))
        let half = Statistics.studentTQuantile(0.975, degreesOfFreedom: degreesOfFreedom) * se
        (low, high) = (difference - half, difference + half)
    }
}
