import Foundation

/// An effect the paper reports, stated as a comparison a study's runs can test: the paper finds arm `better`
/// more accurate than arm `worse` (Table 1: reshuffling over sampling with replacement; Figure 4: the full
/// method over the method with one feature removed; Table 4: TTA over no TTA).
public struct Finding: Sendable, Equatable {
    /// One side of the comparison: a configuration's runs, scored at one TTA level.
    public struct Arm: Sendable, Equatable {
        public var configuration: String
        /// The TTA level whose accuracies are compared; nil: the configuration's own (its "TTA" accuracy).
        public var ttaLevel: Int?

        public init(configuration: String, ttaLevel: Int? = nil) {
            self.configuration = configuration
            self.ttaLevel = ttaLevel
        }

        /// "airbench94" or "airbench94 (TTA level 0)".
        public var description: String { configuration + (ttaLevel.map { " (TTA level \($0))" } ?? "") }
    }

    /// The paper's mean accuracies of the two arms, in percent.
    public struct PaperAccuracies: Sendable, Equatable {
        public var better: Double
        public var worse: Double
        public var effect: Double { better - worse }

        public init(better: Double, worse: Double) { (self.better, self.worse) = (better, worse) }
    }

    public var name: String
    /// Where the paper reports it ("Table 1", "Figure 4").
    public var source: String
    public var better: Arm
    public var worse: Arm
    /// The paper's accuracies, when it prints them; otherwise `paperNote` says what it reports.
    public var paper: PaperAccuracies?
    public var paperNote: String?
    /// The significance level of the verdict (two-sided).
    public var alpha: Double

    public init(name: String, source: String, better: Arm, worse: Arm, paper: PaperAccuracies? = nil,
                paperNote: String? = nil, alpha: Double = 0.05) {
        (self.name, self.source, self.better, self.worse) = (name, source, better, worse)
        (self.paper, self.paperNote, self.alpha) = (paper, paperNote, alpha)
    }
}

/// How a study's runs bear on a finding.
public enum Verdict: String, Sendable, Equatable, CaseIterable {
    /// The paper's direction, significant at the finding's α.
    case reproduced
    /// The paper's direction, not significant, and the interval still holds the paper's effect (or the paper
    /// gives no size): more runs would decide.
    case sameDirectionNotSignificant = "same direction, not significant"
    /// Not significant, and the whole interval lies below the paper's effect: at this power the paper's effect
    /// is ruled out (a null result at adequate power).
    case smallerThanPaper = "null: smaller than the paper's effect"
    /// The opposite direction, not significant.
    case oppositeDirectionNotSignificant = "opposite direction, not significant"
    /// The opposite direction, significant.
    case contradicted
}

/// A finding tested on a study's runs: better − worse in accuracy points with its 95% interval, the test, and
/// the verdict.
public struct FindingOutcome: Sendable, Equatable {
    public var finding: Finding
    /// Mean accuracies (percent) and run counts of the two arms.
    public var betterMean: Double, worseMean: Double
    public var betterRuns: Int, worseRuns: Int
    /// True when both arms are TTA levels of the same runs (a paired t-test); otherwise Welch's test.
    public var paired: Bool
    /// better − worse in points, its 95% interval, and the two-sided p-value.
    public var difference: Double, low: Double, high: Double, pValue: Double
    public var verdict: Verdict
    /// Runs per arm that would detect the paper's effect (or, when the paper gives no size, the effect seen
    /// here) at the finding's α, two-sided, with power 0.8; nil when there is nothing to detect.
    public var runsToResolve: Int?

    /// Tests `finding` on `results`; nil while an arm has fewer than 2 runs (a study in progress).
    public static func test(_ finding: Finding, in results: StudyResults) -> FindingOutcome? {
        let (a, b) = (results.runs(of: finding.better.configuration), results.runs(of: finding.worse.configuration))
        guard a.count >= 2, b.count >= 2 else { return nil }
        return FindingOutcome(finding, a, b)
    }

    private init(_ finding: Finding, _ a: [SweepResult], _ b: [SweepResult]) {
        self.finding = finding
        func accuracies(_ runs: [SweepResult], _ arm: Finding.Arm) -> [Double] {
            runs.map { run in 100 * (arm.ttaLevel.map { run.accuracy[$0] } ?? run.ttaAccuracy) }
        }
        let (x, y) = (accuracies(a, finding.better), accuracies(b, finding.worse))
        (betterMean, worseMean, betterRuns, worseRuns) = (Statistics.mean(x), Statistics.mean(y), x.count, y.count)
        paired = finding.better.configuration == finding.worse.configuration
        let test = paired ? TTest.paired(x, y) : TTest.welch(x, y)
        (difference, low, high, pValue) = (test.difference, test.low, test.high, test.pValue)
        verdict = Self.verdict(difference: difference, high: high, pValue: pValue, alpha: finding.alpha,
                               paperEffect: finding.paper?.effect)
        let target = abs(finding.paper?.effect ?? difference)
        let spread = paired ? Statistics.standardDeviation(zip(x, y).map { $0 - $1 })
            : ((Statistics.variance(x) + Statistics.variance(y)) / 2).squareRoot()
        runsToResolve = target > 0
            ? Statistics.runsNeeded(difference: target, standardDeviation: spread, alpha: finding.alpha, power: 0.8,
                                    sides: 2, twoSample: !paired)
            : nil
    }

    /// The verdict rule: significance decides the direction; without it, an interval that lies wholly below the
    /// paper's effect rules that effect out.
    public static func verdict(difference: Double, high: Double, pValue: Double, alpha: Double, paperEffect: Double?) -> Verdict {
        if pValue < alpha { return difference > 0 ? .reproduced : .contradicted }
        if let paperEffect, paperEffect > 0, high < paperEffect { return .smallerThanPaper }
        return difference > 0 ? .sameDirectionNotSignificant : .oppositeDirectionNotSignificant
    }

    /// Whether the paper's effect lies in the 95% interval (nil when the paper gives no size).
    public var paperEffectInInterval: Bool? {
        finding.paper.map { low <= $0.effect && $0.effect <= high }
    }
}
