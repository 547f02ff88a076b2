import Foundation

/// Two configurations of a study compared: the difference of mean accuracies with its 95% confidence interval
/// and Welch's t-test, and how many runs per configuration would detect a given difference.
public struct Comparison: Sendable {
    public var first: ConfigurationSummary, second: ConfigurationSummary
    /// How the text names them (default: the configurations' names; a comparison across studies adds the study).
    public var labels: (first: String, second: String)
    /// "tta" (each configuration's TTA level) or "plain" (level 0).
    public var measure: String
    public var test: TTest
    /// Runs per configuration to detect `difference` (two-sided α = 0.05, two samples, at `power`), from the
    /// pooled standard deviation of the two.
    public var runsForDifference: (difference: Double, power: Double, runs: Int)?

    /// Compares configuration `a` of `collection` with configuration `b` of `other` (default: the same study), as
    /// when a precision or a machine is compared against a study's own runs; both must be scored on one test set.
    /// A configuration of one study compared with itself is refused: its runs would be tested against themselves.
    public init(_ collection: StudyResults, _ a: String, _ b: String, in other: StudyResults? = nil, plain: Bool = false,
                difference: Double? = nil, power: Double = 0.8) throws {
        if other == nil, a == b { throw StudyError("'\(a)' is compared with itself: name two configurations, or one of another study with --against") }
        let other = other ?? collection
        guard other.results[0].testLabelsSHA256 == collection.results[0].testLabelsSHA256 else {
            throw StudyError("the two studies were scored on different test sets: their runs cannot be compared")
        }
        func find(_ name: String, in collection: StudyResults) throws -> (ConfigurationSummary, [Double]) {
            guard let summary = collection.summaries.first(where: { $0.configuration == name }) else {
                throw StudyError("no configuration '\(name)' (configurations: \(collection.summaries.map(\.configuration).joined(separator: "; ")))")
            }
            let runs = collection.runs(of: name)
            return (summary, runs.map { plain ? $0.plainAccuracy : $0.ttaAccuracy })
        }
        let (sa, xa) = try find(a, in: collection), (sb, xb) = try find(b, in: other)
        guard xa.count >= 2, xb.count >= 2 else { throw StudyError("each configuration needs at least 2 runs to compare") }
        (first, second, measure) = (sa, sb, plain ? "plain" : "tta")
        labels = (a, b)
        test = TTest.welch(xa, xb)
        if let difference {
            let pooled = ((Statistics.standardDeviation(xa).squared + Statistics.standardDeviation(xb).squared) / 2).squareRoot()
            runsForDifference = (difference, power, Statistics.runsNeeded(difference: difference, standardDeviation: pooled,
                                                                         alpha: 0.05, power: power, sides: 2, twoSample: true))
        }
    }

    /// The comparison as a few lines of text (accuracies in percent).
    public var text: String {
        let p = { (x: Double) in String(format: "%.3f", 100 * x) }
        var lines = [
            "\(labels.first): \(p(measure == "tta" ? first.tta.mean : first.plain.mean))% (n=\(first.runs))",
            "\(labels.second): \(p(measure == "tta" ? second.tta.mean : second.plain.mean))% (n=\(second.runs))",
            "difference (\(measure)): \(p(test.difference)) points, 95% CI [\(p(test.low)), \(p(test.high))]; "
                + String(format: "Welch t = %.3f, df = %.1f, p = %.4g", test.t, test.degreesOfFreedom, test.pValue),
        ]
        if let r = runsForDifference {
            let runs = r.runs == Int.max ? "more than can be counted (the difference is negligible against the runs' spread)" : "\(r.runs)"
            lines.append("runs per configuration to detect \(p(r.difference)) points at power \(r.power) (two-sided α = 0.05): \(runs)")
        }
        return lines.joined(separator: "\n")
    }
}

extension Double {
    var squared: Double { self * self }
}
