import Foundation

// Statistics for studies over many training runs (spec D.4 and D.6): summaries of one sample, Welch's
// test, the number of runs a comparison needs, the variance and calibration of an ensemble of runs, and
// the power-law fit behind the paper's "effective speed-up". Checked against SciPy by StatisticsTests,
// with reference values from scripts/make_statistics_fixtures.py.

/// Summary statistics and the distributions they need (Student t, normal), in plain Double arithmetic.
public enum Statistics {
    /// The arithmetic mean Σx/n; NaN for an empty sample (there is no mean to report).
    public static func mean(_ x: [Double]) -> Double {
        guard !x.isEmpty else { return .nan }
        return x.reduce(0, +) / Double(x.count)
    }

    /// The sample standard deviation √(Σ(x − x̄)² / (n − 1)), Bessel-corrected as numpy's `ddof=1`;
    /// 0 for n < 2: one run shows no spread, and a report of a single run should print 0, not NaN.
    /// Two passes (mean first), so accuracies near 94% lose no digits to cancellation.
    public static func standardDeviation(_ x: [Double]) -> Double {
        guard x.count >= 2 else { return 0 }
        return variance(x).squareRoot()
    }

    /// The sample variance Σ(x − x̄)² / (n − 1); 0 for n < 2.
    static func variance(_ x: [Double]) -> Double {
        guard x.count >= 2 else { return 0 }
        let m = mean(x)
        return x.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(x.count - 1)
    }

    /// The 95% confidence interval of the mean, x̄ ± t₀.₉₇₅,ₙ₋₁ · s/√n with s the sample standard deviation
    /// and t the Student quantile (as `scipy.stats.t.interval(0.95, n-1, loc=x̄, scale=s/√n)`).
    /// For n < 2 the interval collapses to (x̄, x̄): there is no spread to scale.
    public static func confidenceInterval95(_ x: [Double]) -> (low: Double, high: Double) {
        let m = mean(x)
        guard x.count >= 2 else { return (m, m) }
        let half = studentTQuantile(0.975, degreesOfFreedom: Double(x.count - 1))
            * standardDeviation(x) / Double(x.count).squareRoot()
        return (m - half, m + half)
    }

    // MARK: Student t

    /// P(T ≤ t) for Student's t with ν degrees of freedom (ν > 0, not necessarily an integer; ν = ∞ gives
    /// the normal CDF). Uses P(|T| > |t|) = I_x(ν/2, 1/2) with x = ν/(ν + t²), the regularized incomplete
    /// beta function, and returns the smaller tail directly so that deep tails keep their relative accuracy.
    public static func studentTCDF(_ t: Double, degreesOfFreedom nu: Double) -> Double {
        precondition(nu > 0, "degrees of freedom must be positive")
        if t.isNaN || nu.isNaN { return .nan }
        if nu.isInfinite { return 0.5 * erfc(-t / 2.0.squareRoot()) }
        let tail = studentTTail(abs(t), nu)
        return t < 0 ? tail : 1 - tail
    }

    /// P(T > t) for t ≥ 0: ½ I_x(ν/2, ½), with x and 1 − x each computed without subtracting from 1.
    static func studentTTail(_ t: Double, _ nu: Double) -> Double {
        if t.isInfinite { return 0 }
        let t2 = t * t
        let x = nu / (nu + t2), y = t2 / (nu + t2)
        return 0.5 * regularizedIncompleteBeta(a: nu / 2, b: 0.5, x: x, y: y)
    }

    /// The density of Student's t with ν degrees of freedom, Γ((ν+1)/2) / (Γ(ν/2)√(νπ)) · (1 + t²/ν)^(−(ν+1)/2).
    static func studentTDensity(_ t: Double, _ nu: Double) -> Double {
        let logNorm = lgamma((nu + 1) / 2) - lgamma(nu / 2) - 0.5 * log(nu * Double.pi)
        return exp(logNorm - (nu + 1) / 2 * log1p(t * t / nu))
    }

    /// The p-quantile of Student's t with ν degrees of freedom (0 < p < 1; ±∞ at 0 and 1), to a relative
    /// error below 1e-10 in practice (the tests hold it to SciPy at 1e-10 · max(1, |t|)).
    ///
    /// Works on the smaller tail q = min(p, 1 − p), so p near 1 loses nothing beyond what 1 − p already lost,
    /// and solves log P(T > t) = log q for t ≥ 0 by Newton steps in log space (the tail of a t with one
    /// degree of freedom is ~1/(πt), which plain Newton overshoots) safeguarded by a bisection bracket.
    public static func studentTQuantile(_ p: Double, degreesOfFreedom nu: Double) -> Double {
        precondition(nu > 0, "degrees of freedom must be positive")
        guard p >= 0, p <= 1 else { return .nan }
        if p == 0 { return -.infinity }
        if p == 1 { return .infinity }
        if p == 0.5 { return 0 }
        if nu.isInfinite { return normalQuantile(p) }
        let q = min(p, 1 - p)
        let t = upperTailQuantile(q, nu)
        return p < 0.5 ? -t : t
    }

    /// The t ≥ 0 with P(T > t) = q, for 0 < q < ½.
    private static func upperTailQuantile(_ q: Double, _ nu: Double) -> Double {
        // Bracket: the tail falls from ½ at 0; double the upper end until it is past the target.
        var low = 0.0, high = max(1.0, -normalQuantile(q))
        while studentTTail(high, nu) > q, high < 1e300 { low = high; high *= 2 }
        let target = log(q)
        var t = 0.5 * (low + high)
        for _ in 0..<200 {
            let tail = studentTTail(t, nu)
            if tail > q { low = t } else { high = t }
            // d log(tail)/dt = −density/tail; the Newton step on log(tail) − log(q).
            let step = (log(tail) - target) * tail / studentTDensity(t, nu)
            var next = t + step
            if !(next > low && next < high) { next = 0.5 * (low + high) }  // Newton left the bracket: bisect
            if abs(next - t) <= 1e-15 * max(1, abs(next)) || high - low <= 1e-15 * high { return next }
            t = next
        }
        return t
    }

    /// The regularized incomplete beta function I_x(a, b), given both x and y = 1 − x (the caller computes
    /// y without cancellation). Evaluated by the continued fraction of Numerical Recipes §6.4 with the
    /// modified Lentz method, on whichever of I_x(a, b) and 1 − I_y(b, a) converges fast
    /// (x < (a + 1)/(a + b + 2)); the log-gamma is Foundation's `lgamma`.
    static func regularizedIncompleteBeta(a: Double, b: Double, x: Double, y: Double) -> Double {
        if x <= 0 { return 0 }
        if y <= 0 { return 1 }
        // log of x^a y^b / B(a, b); log1p of the other argument when it is the small one, for precision.
        let logX = x < 0.5 ? log(x) : log1p(-y)
        let logY = y < 0.5 ? log(y) : log1p(-x)
        let logFront = a * logX + b * logY - (lgamma(a) + lgamma(b) - lgamma(a + b))
        if x < (a + 1) / (a + b + 2) {
            return exp(logFront) * betaContinuedFraction(a: a, b: b, x: x) / a
        }
        return 1 - exp(logFront) * betaContinuedFraction(a: b, b: a, x: y) / b
    }

    /// The continued fraction for I_x(a, b) (Numerical Recipes `betacf`), modified Lentz.
    private static func betaContinuedFraction(a: Double, b: Double, x: Double) -> Double {
        let tiny = 1e-300, epsilon = 1e-16
        let qab = a + b, qap = a + 1, qam = a - 1
        var c = 1.0
        var d = 1 - qab * x / qap
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for m in 1...100_000 {
            let m = Double(m), m2 = 2 * m
            // Even step.
            var aa = m * (b - m) * x / ((qam + m2) * (a + m2))
            d = 1 + aa * d; if abs(d) < tiny { d = tiny }
            c = 1 + aa / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            h *= d * c
            // Odd step.
            aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
            d = 1 + aa * d; if abs(d) < tiny { d = tiny }
            c = 1 + aa / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < epsilon { break }
        }
        return h
    }

    // MARK: Normal

    /// The p-quantile of the standard normal distribution (0 < p < 1; ±∞ at 0 and 1, NaN outside), with
    /// absolute error below 1e-12 (tested against `scipy.stats.norm.ppf` from p = 1e-300).
    ///
    /// Peter Acklam's rational approximation (relative error 1.15e-9), refined by one Halley step on
    /// Φ(x) − p with Φ from `erfc`. The step works in the lower tail (p ≤ ½; the upper tail by symmetry,
    /// 1 − p being exact there) so that Φ(x) − p keeps its relative precision far out.
    public static func normalQuantile(_ p: Double) -> Double {
        guard p >= 0, p <= 1 else { return .nan }
        if p == 0 { return -.infinity }
        if p == 1 { return .infinity }
        if p > 0.5 { return -lowerNormalQuantile(1 - p) }
        return lowerNormalQuantile(p)
    }

    /// The quantile for 0 < p ≤ ½: Acklam's approximation and one Halley step.
    private static func lowerNormalQuantile(_ p: Double) -> Double {
        let x = acklam(p)
        // e = Φ(x) − p; u = e/φ(x). Far out φ(x) underflows: Acklam alone is then already accurate to
        // ~1e-9 relative, which is what is kept.
        let e = 0.5 * erfc(-x / 2.0.squareRoot()) - p
        let density = exp(-0.5 * x * x) / (2 * Double.pi).squareRoot()
        guard density > 0, density.isFinite else { return x }
        let u = e / density
        return x - u / (1 + x * u / 2)
    }

    /// Acklam's rational approximation of the normal quantile, for 0 < p ≤ ½.
    private static func acklam(_ p: Double) -> Double {
        let a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
        let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                 6.680131188771972e+01, -1.328068155288572e+01]
        let c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                 -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
        if p < 0.02425 {
            let q = (-2 * log(p)).squareRoot()
            return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        }
        let q = p - 0.5, r = q * q
        return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
            / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
    }

    // MARK: Planning

    /// Runs needed to detect a mean `difference` given a per-run `standardDeviation`, by the normal
    /// approximation n = ((z₁₋α/sides + z_power) · σ / δ)² · (2 if twoSample), rounded up (at least 1).
    /// For two samples n is the number of runs in each arm. z_p is the standard normal p-quantile, so
    /// power ½ adds nothing.
    ///
    /// The paper's "133 runs to detect a 0.02% gain at std 0.14%" is one-sample, one-sided α = 0.05,
    /// power 0.5: (1.645 · 0.14/0.02)² = 132.6 → 133.
    ///
    /// The rounding allows 1e-9 of floating-point slack, so an exact integer such as 4.000000000001 stays 4.
    /// A zero difference (undetectable), or one so small the count exceeds `Int`, gives `Int.max` rather than
    /// trapping. Requires 0 < alpha < 1, 0 < power < 1, sides 1 or 2 and a standard deviation ≥ 0.
    public static func runsNeeded(difference: Double, standardDeviation: Double, alpha: Double = 0.05,
                                  power: Double = 0.5, sides: Int = 1, twoSample: Bool = false) -> Int {
        precondition(standardDeviation >= 0 && alpha > 0 && alpha < 1 && power > 0 && power < 1)
        precondition(sides == 1 || sides == 2, "a test is one- or two-sided")
        let z = normalQuantile(1 - alpha / Double(sides)) + normalQuantile(power)
        let ratio = z * standardDeviation / difference
        let n = (ratio * ratio * (twoSample ? 2 : 1) * (1 - 1e-9)).rounded(.up)
        guard n < Double(Int.max) else { return Int.max }  // also catches ∞ from a zero difference
        return n.isNaN ? Int.max : max(1, Int(n))  // NaN: 0/0, a zero difference at zero spread
    }
}

/// Variance and calibration over runs that all predicted the same test set (spec D.6, Table 4), from each
/// run's predicted classes.
///
/// With R runs, N examples, c_ri = 1 when run r gets example i right, acc_r = (1/N) Σ_i c_ri and
/// p_i = (1/R) Σ_r c_ri:
/// * `testSetStd` = √Var_runs(acc), Var_runs the sample variance Σ_r (acc_r − mean acc)² / (R − 1).
/// * `distributionWiseStd` = √max(0, Var_runs(acc) − (1/N²) Σ_i p_i(1 − p_i)) (spec D.6's reconstruction of
///   Jordan 2023). The choice: Var_runs is the (R − 1) sample variance while p_i(1 − p_i) is the plain
///   (1/R) variance of example i's correctness, exactly the spec's formula, so with few runs the estimate
///   is slightly high (by (1/N²) Σ_i p_i(1 − p_i)/(R − 1)); at Table 4's R = 10,000 this is negligible.
///   Negative estimates (possible by noise) are clamped to 0.
/// * `cace` (class-aggregated calibration error, Jiang et al. 2021) = Σ_q Σ_k |P(Y = k | h_k(X) = q) − q| ·
///   P(h_k(X) = q), with h_k(x) the fraction of runs predicting class k for x, q over the R + 1 values j/R
///   that h_k can take (exact bins, no binning choice), and the probabilities estimated by frequencies over
///   the N examples, for each class k. With n_kj examples at h_k = j/R, m_kj of them of class k, this is
///   (1/N) Σ_k Σ_j |m_kj − n_kj · j/R|.
public struct EnsembleStatistics: Equatable, Codable, Sendable {
    /// R, the number of runs.
    public var runs: Int
    /// N, the number of test examples.
    public var examples: Int
    /// The mean over runs of each run's accuracy (a fraction, not a percentage).
    public var meanAccuracy: Double
    /// The sample standard deviation over runs of each run's accuracy (a fraction).
    public var testSetStd: Double
    /// The estimated standard deviation of a run's accuracy on the underlying distribution (a fraction).
    public var distributionWiseStd: Double
    /// The class-aggregated calibration error of the ensemble of runs.
    public var cace: Double

    /// Computes the statistics from `predictions[run][example]` (predicted classes) and the true `labels`.
    /// Needs at least one run and one example; every row as long as `labels`, every class below `classes`.
    public init(predictions: [[UInt8]], labels: [UInt8], classes: Int) {
        precondition(!predictions.isEmpty && !labels.isEmpty, "needs at least one run and one example")
        precondition(predictions.allSatisfy { $0.count == labels.count }, "every run predicts every example")
        precondition(labels.allSatisfy { Int($0) < classes }, "a label is not below `classes`")
        runs = predictions.count
        examples = labels.count
        let accuracies = predictions.map { Self.accuracy($0, labels) }
        meanAccuracy = Statistics.mean(accuracies)
        let testSetVariance = Statistics.variance(accuracies)
        testSetStd = testSetVariance.squareRoot()
        let votes = Self.votes(predictions, examples: examples, classes: classes)
        distributionWiseStd = Self.distributionWiseVariance(
            testSetVariance, votes: votes, labels: labels, runs: runs, classes: classes).squareRoot()
        cace = Self.cace(votes: votes, labels: labels, runs: runs, classes: classes)
    }

    /// The fraction of `labels` that `predicted` gets right.
    private static func accuracy(_ predicted: [UInt8], _ labels: [UInt8]) -> Double {
        Double(zip(predicted, labels).reduce(0) { $0 + ($1.0 == $1.1 ? 1 : 0) }) / Double(labels.count)
    }

    /// votes[i · classes + k]: how many runs predict class k for example i (R · h_k(x_i)).
    private static func votes(_ predictions: [[UInt8]], examples: Int, classes: Int) -> [Int] {
        var votes = [Int](repeating: 0, count: examples * classes)
        for row in predictions {
            for (i, k) in row.enumerated() {
                precondition(Int(k) < classes, "a prediction is not below `classes`")
                votes[i * classes + Int(k)] += 1
            }
        }
        return votes
    }

    /// max(0, Var_runs(acc) − (1/N²) Σ_i p_i(1 − p_i)); p_i is example i's vote share for its own label.
    private static func distributionWiseVariance(_ testSetVariance: Double, votes: [Int], labels: [UInt8],
                                                 runs: Int, classes: Int) -> Double {
        var sum = 0.0
        for (i, label) in labels.enumerated() {
            let p = Double(votes[i * classes + Int(label)]) / Double(runs)
            sum += p * (1 - p)
        }
        let n = Double(labels.count)
        return max(0, testSetVariance - sum / (n * n))
    }

    /// (1/N) Σ_k Σ_j |m_kj − n_kj · j/R| (see the type's documentation), in exact integer counts.
    private static func cace(votes: [Int], labels: [UInt8], runs: Int, classes: Int) -> Double {
        // inBin[k][j] = n_kj, ofClass[k][j] = m_kj.
        var inBin = [[Int]](repeating: [Int](repeating: 0, count: runs + 1), count: classes)
        var ofClass = inBin
        for (i, label) in labels.enumerated() {
            for k in 0..<classes {
                let j = votes[i * classes + k]
                inBin[k][j] += 1
                if Int(label) == k { ofClass[k][j] += 1 }
            }
        }
        var total = 0.0
        for k in 0..<classes {
            for j in 0...runs where inBin[k][j] > 0 {
                total += abs(Double(ofClass[k][j]) - Double(inBin[k][j]) * Double(j) / Double(runs))
            }
        }
        return total / Double(labels.count)
    }
}

/// The power law err = c + b · epochs^a, fitted by least squares (spec D.4), its inverse, and the paper's
/// effective speed-up: E_req = epochs(atError: alternating-flip error), speed-up = E_req / E − 1.
///
/// The fit minimises S(a, c, b) = Σ_i (err_i − c − b · e_i^a)². For a fixed exponent a the model is linear
/// in (c, b), so S is profiled over a alone: an ordinary least-squares line of err on e^a gives (c, b) and
/// the residual S(a). The exponent is found on a grid over [−8, 8] (step 0.01; a = 0, where e^a is constant
/// and the model degenerates to a constant, is skipped) and then refined by bisection on dS/da, which by
/// the envelope theorem is −2b Σ_i r_i e_i^a ln e_i (r the residuals): locating the root of the derivative
/// gives a to near machine precision, where minimising S itself only gets √ε. This reproduces
/// `scipy.optimize.curve_fit` (Levenberg–Marquardt) at its converged minimum.
public struct PowerLawFit: Equatable, Codable, Sendable {
    /// The asymptote: the error with infinitely many epochs when a < 0.
    public var c: Double
    /// The scale of the epoch-dependent term.
    public var b: Double
    /// The exponent (negative for an error that falls with training).
    public var a: Double

    /// Why a fit cannot be made, as `StudyError` messages.
    public static let tooFewPoints = "a power-law fit needs at least three points at distinct epoch counts"
    public static let mismatchedCounts = "a power-law fit needs as many errors as epoch counts"
    public static let invalidValue = "a power-law fit needs positive, finite epoch counts and finite errors"

    /// Fits err = c + b · epochs^a to the points (see the type's documentation for the method).
    public init(epochs: [Double], errors: [Double]) throws {
        guard epochs.count == errors.count else { throw StudyError(Self.mismatchedCounts) }
        guard Set(epochs).count >= 3 else { throw StudyError(Self.tooFewPoints) }
        guard epochs.allSatisfy({ $0 > 0 && $0.isFinite }), errors.allSatisfy(\.isFinite) else {
            throw StudyError(Self.invalidValue)
        }
        // Epochs are scaled by their largest value so that e^a neither overflows nor underflows on the grid;
        // b is rescaled back at the end (b · (e/s)^a = b s^−a · e^a).
        let scale = epochs.max()!
        let x = epochs.map { $0 / scale }
        let exponent = Self.bestExponent(x, errors)
        let line = Self.line(x, errors, exponent)
        (c, b, a) = (line.c, line.b * pow(scale, -exponent), exponent)
    }

    /// Creates the curve from its parameters.
    public init(c: Double, b: Double, a: Double) { (self.c, self.b, self.a) = (c, b, a) }

    /// The curve's error at `e` epochs, c + b · e^a.
    public func error(atEpochs e: Double) -> Double { c + b * pow(e, a) }

    /// The epochs at which the curve reaches `err`, ((err − c)/b)^(1/a); nil when the curve never takes that
    /// value for positive epochs (for the usual a < 0, b > 0: when err ≤ c, the asymptote).
    public func epochs(atError err: Double) -> Double? {
        guard a != 0, b != 0 else { return nil }
        let ratio = (err - c) / b
        guard ratio > 0 else { return nil }
        let e = pow(ratio, 1 / a)
        return e.isFinite && e > 0 ? e : nil
    }

    /// The paper's effective speed-up of a change that reaches `alternatingError` in `epochs` epochs over this
    /// (baseline) curve: E_req/E − 1 with E_req = epochs(atError: alternatingError); nil where E_req is.
    public func effectiveSpeedup(epochs: Double, alternatingError: Double) -> Double? {
        self.epochs(atError: alternatingError).map { $0 / epochs - 1 }
    }

    // MARK: Fitting

    /// The least-squares line err ≈ c + b · x^a for a fixed exponent, and its residual sum of squares and
    /// dS/da. When x^a is (numerically) constant the slope is unidentifiable: b = 0, c = the mean.
    private static func line(_ x: [Double], _ y: [Double], _ a: Double)
        -> (c: Double, b: Double, residual: Double, slope: Double)
    {
        let u = x.map { pow($0, a) }
        let n = Double(x.count)
        let uMean = u.reduce(0, +) / n, yMean = y.reduce(0, +) / n
        // Centred sums: the columns 1 and x^a are nearly collinear when a is small.
        var suu = 0.0, suy = 0.0
        for i in x.indices { suu += (u[i] - uMean) * (u[i] - uMean); suy += (u[i] - uMean) * (y[i] - yMean) }
        let b = suu > 1e-300 ? suy / suu : 0
        let c = yMean - b * uMean
        var residual = 0.0, slope = 0.0
        for i in x.indices {
            let r = y[i] - c - b * u[i]
            residual += r * r
            slope += -2 * b * r * u[i] * log(x[i])
        }
        return (c, b, residual, slope)
    }

    /// The exponent minimising the profiled residual: a grid, then bisection on its derivative.
    private static func bestExponent(_ x: [Double], _ y: [Double]) -> Double {
        let step = 0.01
        var best = (a: 0.0, residual: Double.infinity)
        for k in -800...800 where k != 0 {
            let a = Double(k) * step
            let residual = line(x, y, a).residual
            if residual < best.residual { best = (a, residual) }
        }
        return refine(x, y, around: best.a, step: step)
    }

    /// Bisection on dS/da between the grid neighbours of the best grid point, when it changes sign there
    /// (− to +, a minimum); otherwise (the minimum at the grid's edge) the grid point itself.
    private static func refine(_ x: [Double], _ y: [Double], around a: Double, step: Double) -> Double {
        var low = a - step, high = a + step
        // The degenerate a = 0 cannot be an end: step just short of it.
        if abs(low) < step / 2 { low = -step * 1e-3 }
        if abs(high) < step / 2 { high = step * 1e-3 }
        guard line(x, y, low).slope < 0, line(x, y, high).slope > 0 else { return a }
        for _ in 0..<200 {
            let mid = 0.5 * (low + high)
            if mid == low || mid == high { break }
            if line(x, y, mid).slope < 0 { low = mid } else { high = mid }
        }
        return 0.5 * (low + high)
    }
}
