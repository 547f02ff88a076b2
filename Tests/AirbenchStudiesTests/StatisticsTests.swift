import AirbenchStudies
import Foundation
import XCTest

/// Checks Statistics.swift against SciPy (Fixtures/statistics.json, written by
/// scripts/make_statistics_fixtures.py) and against a few values that can be checked by hand.
///
/// Tolerances, and why:
/// * Student t CDF: 1e-12 relative (+1e-300). SciPy's `stdtr` (Cephes/Boost) is good to a few ulps; ours
///   is a continued fraction whose prefactor comes from `lgamma` of arguments up to 100, which costs
///   ~1e-14 relative. Relative, because the fixture's far tails (t = −50) are ~1e-100.
/// * Student t quantile: 1e-10 · max(1, |t|), the accuracy the API promises; the solver iterates to ~1e-15
///   relative, so the margin is the CDF's own error magnified by 1/(density · t) in the tails.
/// * Normal quantile: 1e-12 absolute (the API's promise); one Halley step from Acklam's 1e-9 leaves
///   roughly ulps.
/// * Sample summaries and Welch: 1e-10 relative. They are a few sums plus the quantiles above; the values
///   are around 94, so this is far above rounding and far below any digit a report prints.
/// * Ensemble statistics: 1e-12 relative. Both sides count the same integers; only summation order differs.
/// * Power-law fit: 1e-6 relative on (c, b, a) and the speed-up. curve_fit ran with tolerances 1e-15, so
///   the reference is the least-squares minimum to ~1e-9 relative; ours solves dS/da = 0 by bisection to
///   a similar accuracy. (The brief allowed 1e-4; 1e-6 is kept so a regression to a cruder minimiser,
///   such as golden section on S, which reaches only √ε in a, would still pass but a wrong model would not.)
final class StatisticsTests: XCTestCase {
    // MARK: Fixture

    struct Fixture: Decodable {
        struct TCDF: Decodable { var df, t, cdf: Double }
        struct TQuantile: Decodable { var df, p, t: Double }
        struct NormalQuantile: Decodable { var p, z: Double }
        struct Sample: Decodable { var x: [Double]; var mean, std, low, high: Double }
        struct Welch: Decodable { var a, b: [Double]; var difference, low, high, t, df, pValue: Double }
        struct Runs: Decodable {
            var difference, standardDeviation, alpha, power: Double
            var sides: Int; var twoSample: Bool; var runs: Int; var exact: Double
        }
        struct Ensemble: Decodable {
            var runs, examples, classes: Int
            var labels: [UInt8]; var predictions: [[UInt8]]
            var meanAccuracy, testSetStd, distributionWiseStd, cace: Double
        }
        struct PowerLaw: Decodable {
            var name: String; var epochs, errors: [Double]
            var c, b, a, specC, specB, specA: Double
        }
        struct Speedup: Decodable { var name: String; var epochs, alternatingError, requiredEpochs, speedup: Double }

        var student_t_cdf: [TCDF]
        var student_t_quantile: [TQuantile]
        var normal_quantile: [NormalQuantile]
        var samples: [Sample]
        var welch: [Welch]
        var runs_needed: [Runs]
        var ensemble: Ensemble
        var power_law: [PowerLaw]
        var speedup: [Speedup]
        var paired: [Welch]
    }

    private static let fixture: Result<Fixture, Error> = Result {
        guard let url = Bundle.module.url(forResource: "statistics", withExtension: "json", subdirectory: "Fixtures")
        else { throw CocoaError(.fileNoSuchFile) }
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    private func fixture() throws -> Fixture { try Self.fixture.get() }

    /// Asserts |actual − expected| ≤ relative · |expected| + absolute, naming the case on failure.
    private func assertClose(_ actual: Double, _ expected: Double, relative: Double = 0, absolute: Double = 0,
                             _ name: @autoclosure () -> String, file: StaticString = #filePath, line: UInt = #line) {
        let error = abs(actual - expected)
        if !(error <= relative * abs(expected) + absolute) {
            XCTFail("\(name()): \(actual), expected \(expected) (error \(error))", file: file, line: line)
        }
    }

    // MARK: Distributions

    func testStudentTCDFMatchesSciPy() throws {
        for c in try fixture().student_t_cdf {
            assertClose(Statistics.studentTCDF(c.t, degreesOfFreedom: c.df), c.cdf, relative: 1e-12, absolute: 1e-300,
                        "t CDF(\(c.t), ν = \(c.df))")
        }
    }

    func testStudentTQuantileMatchesSciPy() throws {
        for c in try fixture().student_t_quantile {
            assertClose(Statistics.studentTQuantile(c.p, degreesOfFreedom: c.df), c.t, absolute: 1e-10 * max(1, abs(c.t)),
                        "t quantile(\(c.p), ν = \(c.df))")
        }
    }

    func testNormalQuantileMatchesSciPy() throws {
        for c in try fixture().normal_quantile {
            assertClose(Statistics.normalQuantile(c.p), c.z, absolute: 1e-12, "normal quantile(\(c.p))")
        }
    }

    /// One degree of freedom is the Cauchy distribution: CDF(t) = ½ + atan(t)/π, so CDF(1) = ¾ and the
    /// 0.975 quantile is tan(0.475π) = 12.7062…; infinitely many is the normal.
    func testHandCheckableDistributionValues() {
        XCTAssertEqual(Statistics.studentTCDF(1, degreesOfFreedom: 1), 0.75, accuracy: 1e-15)
        XCTAssertEqual(Statistics.studentTCDF(0, degreesOfFreedom: 7), 0.5)
        XCTAssertEqual(Statistics.studentTCDF(-3, degreesOfFreedom: 1), 0.5 + atan(-3.0) / .pi, accuracy: 1e-15)
        XCTAssertEqual(Statistics.studentTQuantile(0.975, degreesOfFreedom: 1), tan(0.475 * .pi), accuracy: 1e-12)
        // Two degrees of freedom has a closed form too: CDF(t) = ½ + t / (2√(2 + t²)).
        XCTAssertEqual(Statistics.studentTCDF(2, degreesOfFreedom: 2), 0.5 + 2 / (2 * 6.0.squareRoot()), accuracy: 1e-15)
        XCTAssertEqual(Statistics.studentTCDF(1.96, degreesOfFreedom: .infinity), 0.9750021048517795, accuracy: 1e-15)
        XCTAssertEqual(Statistics.normalQuantile(0.5), 0)
        XCTAssertEqual(Statistics.normalQuantile(0.975), 1.959963984540054, accuracy: 1e-14)
        XCTAssertEqual(Statistics.normalQuantile(0.95), 1.6448536269514722, accuracy: 1e-14)
        XCTAssertEqual(Statistics.normalQuantile(0), -.infinity)
        XCTAssertEqual(Statistics.normalQuantile(1), .infinity)
        XCTAssertTrue(Statistics.normalQuantile(1.5).isNaN)
        XCTAssertEqual(Statistics.studentTQuantile(0.5, degreesOfFreedom: 3), 0)
        XCTAssertEqual(Statistics.studentTQuantile(1, degreesOfFreedom: 3), .infinity)
    }

    /// Quantile and CDF invert each other across degrees of freedom the fixture does not cover.
    func testQuantileInvertsCDF() {
        for nu in [0.5, 1.5, 3, 12, 1000, 1e6] {
            for p in [1e-8, 0.003, 0.2, 0.5, 0.77, 0.999] {
                let t = Statistics.studentTQuantile(p, degreesOfFreedom: nu)
                assertClose(Statistics.studentTCDF(t, degreesOfFreedom: nu), p, relative: 1e-11, "CDF(quantile(\(p)), ν = \(nu))")
            }
        }
    }

    // MARK: Samples

    func testSampleSummariesMatchSciPy() throws {
        for (i, c) in try fixture().samples.enumerated() {
            assertClose(Statistics.mean(c.x), c.mean, relative: 1e-14, "sample \(i) mean")
            assertClose(Statistics.standardDeviation(c.x), c.std, relative: 1e-10, "sample \(i) std")
            let ci = Statistics.confidenceInterval95(c.x)
            assertClose(ci.low, c.low, relative: 1e-10, "sample \(i) CI low")
            assertClose(ci.high, c.high, relative: 1e-10, "sample \(i) CI high")
        }
    }

    func testDegenerateSamplesAreDefined() {
        XCTAssertEqual(Statistics.standardDeviation([94.1]), 0)
        XCTAssertEqual(Statistics.mean([94.1]), 94.1)
        let one = Statistics.confidenceInterval95([94.1])
        XCTAssertEqual(one.low, 94.1); XCTAssertEqual(one.high, 94.1)
        XCTAssertEqual(Statistics.standardDeviation([3, 3, 3]), 0)
        let same = Statistics.confidenceInterval95([3, 3, 3])
        XCTAssertEqual(same.low, 3); XCTAssertEqual(same.high, 3)
        XCTAssertTrue(Statistics.mean([]).isNaN, "an empty sample has no mean")
    }

    // MARK: Welch

    func testWelchAndPairedTestsMatchSciPy() throws {
        let f = try fixture()
        for (name, cases, test) in [("Welch", f.welch, TTest.welch), ("paired", f.paired, TTest.paired)] {
            for (i, c) in cases.enumerated() {
                let w = test(c.a, c.b)
                assertClose(w.difference, c.difference, relative: 1e-10, "\(name) \(i) difference")
                assertClose(w.t, c.t, relative: 1e-10, "\(name) \(i) t")
                assertClose(w.degreesOfFreedom, c.df, relative: 1e-10, "\(name) \(i) df")
                assertClose(w.pValue, c.pValue, relative: 1e-10, "\(name) \(i) p")
                assertClose(w.low, c.low, relative: 1e-10, "\(name) \(i) CI low")
                assertClose(w.high, c.high, relative: 1e-10, "\(name) \(i) CI high")
            }
        }
        // The pairing is what makes the first case decisive: Welch's test on the same numbers, which ignores it,
        // has a standard error about three times as large.
        let c = try fixture().paired[0]
        XCTAssertGreaterThan(TTest.paired(c.a, c.b).t, 2.5 * TTest.welch(c.a, c.b).t)
    }

    func testPairedDegenerateSamplesAreDefined() {
        let same = TTest.paired([1, 2, 3], [1, 2, 3])
        XCTAssertEqual([same.difference, same.t, same.pValue, same.low, same.high], [0, 0, 1, 0, 0])
        let shifted = TTest.paired([2, 3, 4], [1, 2, 3])
        XCTAssertEqual(shifted.t, .infinity); XCTAssertEqual(shifted.pValue, 0)
        XCTAssertTrue(TTest.paired([1], [0]).pValue.isNaN)
    }

    func testWelchDegenerateSamplesAreDefined() {
        let same = TTest.welch([2, 2, 2], [2, 2])
        XCTAssertEqual([same.difference, same.low, same.high, same.t, same.degreesOfFreedom, same.pValue], [0, 0, 0, 0, 3, 1])
        let apart = TTest.welch([3, 3], [2, 2, 2])
        XCTAssertEqual(apart.t, .infinity); XCTAssertEqual(apart.pValue, 0)
        XCTAssertEqual(apart.low, 1); XCTAssertEqual(apart.high, 1)
        // One run against several: the single run adds no variance, ν = n_b − 1.
        let single = TTest.welch([5], [1, 2, 3])
        XCTAssertEqual(single.difference, 3)
        XCTAssertEqual(single.degreesOfFreedom, 2, accuracy: 1e-12)
        XCTAssertEqual(single.t, 3 / (1.0 / 3).squareRoot(), accuracy: 1e-12)
        for value in [single.low, single.high, single.pValue] { XCTAssertTrue(value.isFinite) }
    }

    // MARK: Runs needed

    func testRunsNeededMatchesFixtureAndPaper() throws {
        for c in try fixture().runs_needed {
            XCTAssertEqual(Statistics.runsNeeded(difference: c.difference, standardDeviation: c.standardDeviation,
                                                 alpha: c.alpha, power: c.power, sides: c.sides, twoSample: c.twoSample),
                           c.runs, "\(c)")
        }
        // The paper (spec D.6): 0.14% std, a 0.02% gain, p = 0.05 → 133 runs.
        XCTAssertEqual(Statistics.runsNeeded(difference: 0.02, standardDeviation: 0.14), 133)
        XCTAssertEqual(Statistics.runsNeeded(difference: -0.02, standardDeviation: 0.14), 133)
        XCTAssertEqual(Statistics.runsNeeded(difference: 0.02, standardDeviation: 0), 1)
        // Undetectable differences saturate instead of trapping.
        XCTAssertEqual(Statistics.runsNeeded(difference: 0, standardDeviation: 0.14), Int.max)
        XCTAssertEqual(Statistics.runsNeeded(difference: 0, standardDeviation: 0), Int.max)
        XCTAssertEqual(Statistics.runsNeeded(difference: 1e-200, standardDeviation: 0.14), Int.max)
    }

    // MARK: Ensemble

    func testEnsembleStatisticsMatchNumpy() throws {
        let e = try fixture().ensemble
        let s = EnsembleStatistics(predictions: e.predictions, labels: e.labels, classes: e.classes)
        XCTAssertEqual(s.runs, e.runs); XCTAssertEqual(s.examples, e.examples)
        assertClose(s.meanAccuracy, e.meanAccuracy, relative: 1e-12, "mean accuracy")
        assertClose(s.testSetStd, e.testSetStd, relative: 1e-12, "test-set std")
        assertClose(s.distributionWiseStd, e.distributionWiseStd, relative: 1e-12, "distribution-wise std")
        assertClose(s.cace, e.cace, relative: 1e-12, "CACE")
        XCTAssertLessThan(s.distributionWiseStd, s.testSetStd)
    }

    /// Identical runs and a single run: no spread at all, and CACE counts only the examples the (sure)
    /// ensemble gets wrong, each twice (its predicted class at q = 1 and its label at q = 0): 2 · error rate.
    func testEnsembleDegenerateRunsAreDefined() {
        let labels: [UInt8] = [0, 1, 2, 1]
        let run: [UInt8] = [0, 1, 2, 2]  // three of four right
        for predictions in [[run], [run, run, run]] {
            let s = EnsembleStatistics(predictions: predictions, labels: labels, classes: 3)
            XCTAssertEqual(s.meanAccuracy, 0.75)
            XCTAssertEqual(s.testSetStd, 0)
            XCTAssertEqual(s.distributionWiseStd, 0)
            XCTAssertEqual(s.cace, 0.5, accuracy: 1e-15)
        }
        // Perfect, identical runs are perfectly calibrated.
        XCTAssertEqual(EnsembleStatistics(predictions: [labels, labels], labels: labels, classes: 3).cace, 0)
    }

    /// Two runs on two examples, by hand: run 1 gets both right, run 2 neither (predicting class 1 for a
    /// class-0 example and 0 for a class-1 one). Accuracies 1 and 0: sample variance ½; p_i = ½ for both,
    /// so Σ p(1 − p)/N² = ⅛ and the distribution-wise variance is ⅜. CACE: every h_k is ½ and half of
    /// those examples are of class k, so every term is 0.
    func testEnsembleByHand() {
        let s = EnsembleStatistics(predictions: [[0, 1], [1, 0]], labels: [0, 1], classes: 2)
        XCTAssertEqual(s.testSetStd, 0.5.squareRoot(), accuracy: 1e-15)
        XCTAssertEqual(s.distributionWiseStd, 0.375.squareRoot(), accuracy: 1e-15)
        XCTAssertEqual(s.cace, 0, accuracy: 1e-15)
    }

    // MARK: Power law

    func testPowerLawFitMatchesCurveFit() throws {
        for c in try fixture().power_law {
            let fit = try PowerLawFit(epochs: c.epochs, errors: c.errors)
            assertClose(fit.c, c.c, relative: 1e-6, "\(c.name) c")
            assertClose(fit.b, c.b, relative: 1e-6, "\(c.name) b")
            assertClose(fit.a, c.a, relative: 1e-6, "\(c.name) a")
            // The spec's curves are the same fits printed to 3–4 significant digits.
            assertClose(fit.c, c.specC, absolute: 0.001, "\(c.name) c vs spec")
            assertClose(fit.b, c.specB, relative: 0.001, "\(c.name) b vs spec")
            assertClose(fit.a, c.specA, absolute: 0.001, "\(c.name) a vs spec")
        }
    }

    /// The paper's worked example (spec D.4): at Table 6's alternating-flip error 6.1348% the fit needs
    /// 25.42 epochs, a 27.1% speed-up (Table 2); at the text's rounded 6.13%, 28.6%.
    func testEffectiveSpeedupMatchesPaper() throws {
        let f = try fixture()
        for c in f.speedup {
            let row = try XCTUnwrap(f.power_law.first { $0.name == c.name })
            let fit = try PowerLawFit(epochs: row.epochs, errors: row.errors)
            let required = try XCTUnwrap(fit.epochs(atError: c.alternatingError))
            assertClose(required, c.requiredEpochs, relative: 1e-6, "\(c.name) E_req at \(c.alternatingError)")
            let speedup = try XCTUnwrap(fit.effectiveSpeedup(epochs: c.epochs, alternatingError: c.alternatingError))
            assertClose(speedup, c.speedup, relative: 1e-6, "\(c.name) speed-up at \(c.alternatingError)")
        }
        XCTAssertEqual(f.speedup[0].speedup, 0.271, accuracy: 0.0005)
    }

    func testPowerLawInverseAndRange() throws {
        let curve = PowerLawFit(c: 5, b: 20, a: -1.2)
        for e in [3.0, 10, 55.5] {
            XCTAssertEqual(try XCTUnwrap(curve.epochs(atError: curve.error(atEpochs: e))), e, accuracy: 1e-10 * e)
        }
        XCTAssertNil(curve.epochs(atError: 5), "the asymptote is never reached")
        XCTAssertNil(curve.epochs(atError: 4))
        XCTAssertNil(curve.effectiveSpeedup(epochs: 10, alternatingError: 4.9))
        // Three exact points of a known curve are recovered exactly.
        let exact = try PowerLawFit(epochs: [10, 20, 40], errors: [10, 20, 40].map { curve.error(atEpochs: $0) })
        XCTAssertEqual(exact.c, 5, accuracy: 1e-8); XCTAssertEqual(exact.b, 20, accuracy: 1e-7)
        XCTAssertEqual(exact.a, -1.2, accuracy: 1e-9)
    }

    func testPowerLawRejectsBadInput() {
        XCTAssertThrowsError(try PowerLawFit(epochs: [10, 20], errors: [7, 6])) {
            XCTAssertEqual($0 as? StudyError, StudyError(PowerLawFit.tooFewPoints))
        }
        XCTAssertThrowsError(try PowerLawFit(epochs: [10, 10, 20, 20], errors: [7, 7.1, 6, 6.1])) {
            XCTAssertEqual($0 as? StudyError, StudyError(PowerLawFit.tooFewPoints))
        }
        XCTAssertThrowsError(try PowerLawFit(epochs: [10, 20, 40], errors: [7, 6])) {
            XCTAssertEqual($0 as? StudyError, StudyError(PowerLawFit.mismatchedCounts))
        }
        XCTAssertThrowsError(try PowerLawFit(epochs: [0, 20, 40], errors: [7, 6, 5])) {
            XCTAssertEqual($0 as? StudyError, StudyError(PowerLawFit.invalidValue))
        }
    }
}
