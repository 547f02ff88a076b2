import AirbenchFormats
import Foundation

/// `airbench report`: a Markdown report of a study folder with its tables and SVG plots — accuracy per
/// configuration with 95% intervals, the distribution of accuracies over runs, accuracy against epochs per
/// variant with confidence bands (and, for flip studies, the power-law fit and the effective speed-up of
/// alternating flip, as in the paper's Table 2), and FLOPs against error on log-log axes.
public struct Report {
    public let collection: StudyResults
    public let title: String
    /// The study's spec, when the report should test what it says the study finds (`SweepSpec+Findings.swift`).
    public let spec: SweepSpec?

    public init(_ collection: StudyResults, title: String, spec: SweepSpec? = nil) {
        self.collection = collection
        self.title = title
        self.spec = spec
    }

    /// Writes report.md and the SVGs into `folder`; returns the files written.
    @discardableResult
    public func write(to folder: URL) throws -> [URL] {
        try createFolder(folder)
        var files = [(String, String)]()
        var markdown = "# \(title)\n\n" + overview + "\n"
        if let spec {
            let (sections, charts) = try findingsSections(spec)
            markdown += sections + "## Every configuration\n\n"
            files += charts
        }
        markdown += summaryTable + "\n"
        let s = collection.summaries
        files.append(("accuracy.svg", SVGChart(title: "TTA accuracy per configuration (mean, 95% CI)", xLabel: "configuration (numbered as in the table)",
                                               yLabel: "test accuracy (%)")
            .bars(s.map { ($0.configuration, 100 * $0.tta.mean, 100 * $0.tta.low, 100 * $0.tta.high) })))
        markdown += "![accuracy per configuration](accuracy.svg)\n\n"
        files.append(("histogram.svg", SVGChart(title: "TTA accuracy over runs", xLabel: "test accuracy (%)", yLabel: "runs")
            .histogram(s.map { c in (c.configuration, collection.runs(of: c.configuration).map { 100 * $0.ttaAccuracy }) })))
        markdown += "![histogram of accuracies](histogram.svg)\n\n"
        let curves = epochCurves
        if !curves.isEmpty {
            for (tta, name) in [(true, "accuracy-vs-epochs.svg"), (false, "accuracy-vs-epochs-no-tta.svg")] {
                let series = curves.map { group, members in
                    SVGChart.Series(name: group, points: members.map { m in
                        let summary = tta ? m.tta : m.plain
                        return (m.trainEpochs, 100 * summary.mean, 100 * summary.low, 100 * summary.high)
                    })
                }
                files.append((name, SVGChart(title: "Accuracy against epochs (\(tta ? "TTA" : "no TTA"); 95% CI bands)",
                                             xLabel: "epochs", yLabel: "test accuracy (%)", logX: true).lines(series)))
                markdown += "![accuracy against epochs, \(tta ? "TTA" : "no TTA")](\(name))\n\n"
            }
            markdown += speedupTable(curves)
        }
        if Set(s.map(\.flopsPerRun)).count > 1 {  // only where the configurations differ in their work
            files.append(("flops-vs-error.svg", SVGChart(title: "FLOPs against error", xLabel: "FLOPs per run",
                                                         yLabel: "TTA error (%)", logX: true, logY: true)
                .lines(s.map { SVGChart.Series(name: $0.configuration, points: [($0.flopsPerRun, 100 * (1 - $0.tta.mean), nil, nil)],
                                               connect: false) })))
            markdown += "![FLOPs against error](flops-vs-error.svg)\n"
        }
        files.append(("report.md", markdown))
        return try files.map { name, text in
            let url = folder.appendingPathComponent(name)
            try writeFileAtomically(Data(text.utf8), to: url)
            return url
        }
    }

    var overview: String {
        let r = collection.results
        let machines = Set(r.map { "\($0.machine.cpu), \($0.machine.kernelPath) \($0.machine.precision), \($0.machine.threads) threads" })
        return "\(r.count) runs of \(configurationCount(collection.summaries.count)) (sweep \(Set(r.map(\.sweep)).sorted().joined(separator: ", ")); "
            + "\(r[0].trainImages) training and \(r[0].testImages) test images). Machines: \(machines.sorted().joined(separator: "; ")).\n"
            + "Convolution plans (what, with the path, the precision and the arithmetic revision, decides a run's bits): "
            + "\(counted { $0.machine.convolutionPlan.map { "`\($0)`" } }).\n"
            + "Arithmetic revisions (`ArithmeticRevision`: the code's summation orders and rounding): "
            + "\(counted(missing: "not recorded (results written before revisions were)") { $0.machine.arithmeticRevision.map(String.init) }).\n"
            + "Accuracies in percent; intervals are 95% confidence intervals of the mean (Student t); test-set std is the "
            + "std of accuracy over runs, distribution-wise std and CACE as defined in the spec (D.6).\n"
    }

    /// Each value of `key` the runs have (a convolution plan, an arithmetic revision) with its count, the commonest
    /// first: a study resumed by a later binary mixes them, which only rounding separates.
    func counted(missing: String = "not recorded", _ key: (SweepResult) -> String?) -> String {
        let counts = Dictionary(grouping: collection.results, by: { key($0) ?? missing }).mapValues(\.count)
        return counts.sorted { ($0.value, $1.key) > ($1.value, $0.key) }
            .map { "\($0.key) (\($0.value) run\($0.value == 1 ? "" : "s"))" }.joined(separator: "; ")
    }

    var summaryTable: String {
        let p = { (x: Double) in String(format: "%.2f", 100 * x) }
        let q = { (x: Double?) in x.map { String(format: "%.3f", 100 * $0) } ?? "–" }
        var rows = ["| # | configuration | n | TTA accuracy | no-TTA accuracy | test-set std | dist.-wise std | CACE | time (s) |",
                    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for (i, s) in collection.summaries.enumerated() {
            rows.append("| \(i + 1) | \(markdownCell(s.configuration)) | \(s.runs) | \(p(s.tta.mean)) [\(p(s.tta.low)), \(p(s.tta.high))] "
                        + "| \(p(s.plain.mean)) [\(p(s.plain.low)), \(p(s.plain.high))] | \(q(s.testSetStd)) | \(q(s.distributionWiseStd)) "
                        + "| \(s.cace.map { String(format: "%.4f", $0) } ?? "–") | \(String(format: "%.1f", s.meanTimeSeconds)) |")
        }
        return rows.joined(separator: "\n") + "\n"
    }

    /// Configurations that differ only in their epochs, grouped by the rest of their name (2+ epoch values).
    var epochCurves: [(String, [ConfigurationSummary])] {
        var order = [String](), groups = [String: [ConfigurationSummary]]()
        for s in collection.summaries {
            let key = s.configuration.split(separator: ",").filter { !$0.hasPrefix("trainEpochs=") }.joined(separator: ",")
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(s)
        }
        let curves = order.map { ($0.isEmpty ? "all" : $0, groups[$0]!.sorted { $0.trainEpochs < $1.trainEpochs }) }
        return curves.allSatisfy({ Set($0.1.map(\.trainEpochs)).count >= 2 }) ? curves : []
    }

    /// For each curve with flip=alternating and its flip=random twin: the paper's effective speed-up (spec D.4) —
    /// fit err = c + b·epochs^a to the random-flip points, invert it at the alternating error.
    func speedupTable(_ curves: [(String, [ConfigurationSummary])]) -> String {
        var rows = [String]()
        for (name, alternating) in curves where name.contains("flip=alternating") {
            let twin = name.replacingOccurrences(of: "flip=alternating", with: "flip=random")
            guard let random = curves.first(where: { $0.0 == twin })?.1, random.count >= 3 else { continue }
            for tta in [false, true] {
                let errors = random.map { 100 * (1 - (tta ? $0.tta.mean : $0.plain.mean)) }
                guard let fit = try? PowerLawFit(epochs: random.map(\.trainEpochs), errors: errors) else { continue }
                for a in alternating {
                    let err = 100 * (1 - (tta ? a.tta.mean : a.plain.mean))
                    let speedup = fit.effectiveSpeedup(epochs: a.trainEpochs, alternatingError: err)
                    rows.append("| \(markdownCell(twin.replacingOccurrences(of: "flip=random", with: "").trimmingCharacters(in: CharacterSet(charactersIn: ",")))) "
                                + "| \(tta ? "yes" : "no") | \(String(format: "%g", a.trainEpochs)) "
                                + "| \(String(format: "%.3f + %.3f·e^%.3f", fit.c, fit.b, fit.a)) "
                                + "| \(speedup.map { String(format: "%.1f%%", 100 * $0) } ?? "outside the fit") |")
                }
            }
        }
        guard !rows.isEmpty else { return "" }
        return "Effective speed-up of alternating over random flip (spec D.4: err = c + b·epochs^a fitted by least squares "
            + "to the random-flip points, inverted at the alternating-flip error; speed-up = E_required / E − 1):\n\n"
            + "| variant | TTA | epochs | random-flip fit (error %) | effective speed-up |\n| --- | --- | --- | --- | --- |\n"
            + rows.joined(separator: "\n") + "\n\n"
    }
}

/// Text from a spec (a configuration's or a finding's name) as one cell of a Markdown table: a `|` would end the
/// cell and a line break the row.
func markdownCell(_ text: String) -> String {
    text.replacingOccurrences(of: "|", with: "\\|").split(whereSeparator: \.isNewline).joined(separator: " ")
}

/// "1 configuration", "3 configurations" (sweep's first line, reports).
public func configurationCount(_ count: Int) -> String {
    count == 1 ? "1 configuration" : "\(count) configurations"
}
