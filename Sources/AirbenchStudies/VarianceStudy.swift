import AirbenchData
import Foundation

/// The paper's Table 4 on a study's runs: for one configuration, at several TTA levels of the same runs, the mean
/// accuracy, test-set std, distribution-wise std and CACE (`EnsembleStatistics`), each with a percentile-bootstrap
/// 95% interval over runs, and the paper's three findings checked on them:
/// * the distribution-wise variance is at least 5× smaller than the test-set variance (every row of Table 4);
/// * TTA lowers the test-set std;
/// * TTA raises CACE.
///
/// The bootstrap resamples the runs with replacement (`resamples` times, from a fixed seed, so a report is the same
/// bytes every time it is made) and recomputes every statistic of every level on the same resample, so that the
/// differences between levels keep their pairing. Intervals are the 2.5% and 97.5% percentiles (the order
/// statistics at ⌊q·(B − 1)⌉, no interpolation).
///
/// CACE's intervals (each level's and the change between levels) are the delete-one jackknife's instead: a
/// bootstrap resample repeats some runs and leaves others out, which acts as a smaller ensemble, and CACE rises as
/// runs are removed (its bins are the vote shares j/R). On the 40 known-answers runs every resample's CACE lay
/// above the estimate (0.0872 with a percentile interval of [0.0900, 0.0967]). Leaving one run out keeps R − 1
/// distinct runs, and the interval is the estimate ± t(0.975, n − 1) · the jackknife's standard error.
public struct VarianceStudy: Sendable, Equatable {
    /// The paper's values of one row, in percent (accuracy and stds) and absolute (CACE).
    public struct PaperRow: Sendable, Equatable {
        public var mean: Double, testSetStd: Double, distributionWiseStd: Double, cace: Double
    }

    public var configuration: String
    /// The TTA levels compared, lowest first (Table 4: 0 and 2).
    public var levels: [Int]
    /// The paper's row for each level (by level).
    public var paper: [Int: PaperRow]

    public init(configuration: String, levels: [Int], paper: [Int: PaperRow]) {
        (self.configuration, self.levels, self.paper) = (configuration, levels.sorted(), paper)
    }

    public static let resamples = 1000
    public static let bootstrapSeed: UInt64 = 20_240_611
    /// Table 4's "at least 5× smaller" variance ratio.
    public static let varianceRatio = 5.0
}

/// A statistic with its percentile-bootstrap 95% interval.
public struct Estimate: Sendable, Equatable {
    public var value: Double, low: Double, high: Double
}

/// `VarianceStudy` computed on a study's runs.
public struct VarianceOutcome: Sendable, Equatable {
    /// One TTA level's statistics (accuracies and stds as fractions, as `EnsembleStatistics` gives them).
    public struct Level: Sendable, Equatable {
        public var level: Int
        public var meanAccuracy: Estimate, testSetStd: Estimate, distributionWiseStd: Estimate, cace: Estimate
        /// Test-set variance / distribution-wise variance (∞ when the latter is 0).
        public var varianceRatio: Estimate
    }

    public var study: VarianceStudy
    public var runs: Int
    public var levels: [Level]
    /// Highest level minus lowest, with intervals from the same resamples: test-set std and CACE.
    public var testSetStdChange: Estimate
    public var caceChange: Estimate

    /// - Throws: when the configuration is missing, has fewer than 3 runs, or the folder has no test labels.
    public init(_ study: VarianceStudy, in results: StudyResults, labels: [UInt8]) throws {
        self.study = study
        let runs = results.runs(of: study.configuration)
        guard runs.count >= 3 else {
            throw StudyError("Table 4: configuration '\(study.configuration)' has \(runs.count) runs; the statistics need at least 3")
        }
        let classes = runs[0].dataset?.classCount ?? 10
        let predictions: [[[UInt8]]] = try study.levels.map { level in
            try runs.map {
                guard let p = $0.predictedClasses(level: level), p.count == labels.count else {
                    throw StudyError("Table 4: run \($0.configuration) seed \($0.seed) has no predictions at TTA level \(level)")
                }
                return p
            }
        }
        self.runs = runs.count
        // statistics[b][l]: resample b (0 is the runs themselves), level l.
        var generator = SeededGenerator(seed: VarianceStudy.bootstrapSeed)
        var statistics = [[EnsembleStatistics]]()
        for b in 0...VarianceStudy.resamples {
            let pick = b == 0 ? Array(runs.indices) : runs.indices.map { _ in Int(generator.next() % UInt64(runs.count)) }
            statistics.append(predictions.map { level in
                EnsembleStatistics(predictions: pick.map { level[$0] }, labels: labels, classes: classes)
            })
        }
        func estimate(_ value: (EnsembleStatistics) -> Double, level l: Int) -> Estimate {
            Self.estimate(statistics.map { value($0[l]) })
        }
        // leftOut[l][i]: CACE of level l without run i.
        let leftOut: [[Double]] = predictions.map { level in
            runs.indices.map { i in
                var kept = level
                kept.remove(at: i)
                return EnsembleStatistics(predictions: kept, labels: labels, classes: classes).cace
            }
        }
        levels = study.levels.indices.map { l in
            Level(level: study.levels[l], meanAccuracy: estimate(\.meanAccuracy, level: l),
                  testSetStd: estimate(\.testSetStd, level: l), distributionWiseStd: estimate(\.distributionWiseStd, level: l),
                  cace: Self.jackknife(statistics[0][l].cace, leftOut: leftOut[l]),
                  varianceRatio: estimate({ $0.testSetStd * $0.testSetStd / ($0.distributionWiseStd * $0.distributionWiseStd) }, level: l))
        }
        let (first, last) = (0, study.levels.count - 1)
        testSetStdChange = Self.estimate(statistics.map { $0[last].testSetStd - $0[first].testSetStd })
        caceChange = Self.jackknife(statistics[0][last].cace - statistics[0][first].cace,
                                    leftOut: zip(leftOut[last], leftOut[first]).map { $0 - $1 })
    }

    /// The delete-one jackknife's 95% interval of a statistic: `value` on all n runs, `leftOut[i]` without run i;
    /// value ± t(0.975, n − 1) · √((n − 1)/n · Σ (leftOut[i] − mean)²).
    public static func jackknife(_ value: Double, leftOut: [Double]) -> Estimate {
        let n = Double(leftOut.count)
        let mean = leftOut.reduce(0, +) / n
        let standardError = ((n - 1) / n * leftOut.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }).squareRoot()
        let t = Statistics.studentTQuantile(0.975, degreesOfFreedom: n - 1)
        return Estimate(value: value, low: value - t * standardError, high: value + t * standardError)
    }

    /// values[0] is the statistic on the runs; the rest on the resamples.
    static func estimate(_ values: [Double]) -> Estimate {
        // A resample of one repeated run has no spread: its variance ratio is 0/0. Such resamples carry no
        // information about the ratio and are left out (NaN would also break the sort).
        let resampled = values.dropFirst().filter { !$0.isNaN }.sorted()
        guard !resampled.isEmpty else { return Estimate(value: values[0], low: .nan, high: .nan) }
        func percentile(_ q: Double) -> Double { resampled[Int((q * Double(resampled.count - 1)).rounded())] }
        return Estimate(value: values[0], low: percentile(0.025), high: percentile(0.975))
    }
}
