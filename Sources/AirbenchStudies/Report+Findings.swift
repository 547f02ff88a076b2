import Foundation

/// The report's sections for a spec that states what the study should find: progress against the spec's runs,
/// its notes, one verdict per finding with the paper's number beside ours, and Table 4.
extension Report {
    /// The Markdown of the findings sections and the chart of the findings' effects, or nothing without a spec.
    func findingsSections(_ spec: SweepSpec) throws -> (markdown: String, charts: [(String, String)]) {
        let done = collection.results.count, planned = spec.runs.count
        let machineHours = collection.results.map(\.timeSeconds).reduce(0, +) / 3600
        var markdown = "**Progress:** \(done) of the spec's \(planned) runs (\(String(format: "%.1f", machineHours)) machine-hours of "
            + "timed training so far)" + (done < planned ? "; every number below is from the runs so far." : ".") + "\n\n"
        if let notes = spec.notes { markdown += notes.trimmingCharacters(in: .whitespacesAndNewlines) + "\n\n" }
        var charts = [(String, String)]()
        let tested = spec.findings.map { ($0, FindingOutcome.test($0, in: collection)) }
        let outcomes = tested.compactMap(\.1), waiting = tested.filter { $0.1 == nil }.map(\.0)
        if !waiting.isEmpty {
            markdown += "Waiting for runs (a test needs 2 per arm): " + waiting.map(\.name).joined(separator: "; ") + ".\n\n"
        }
        if !outcomes.isEmpty {
            markdown += findingsTable(outcomes)
            charts.append(("findings.svg", SVGChart(title: "Effect of each finding: better − worse (95% CI)",
                                                    xLabel: "finding (numbered as in the table)", yLabel: "accuracy difference (points)")
                .bars(outcomes.map { ($0.finding.name, $0.difference, $0.low, $0.high) }, baseline: 0)))
            markdown += "![effect of each finding](findings.svg)\n\n"
        }
        if let study = spec.variance, collection.runs(of: study.configuration).count >= 3 {
            guard let labels = collection.labels else { throw StudyError("Table 4 needs the folder's test-labels.json") }
            markdown += varianceSection(try VarianceOutcome(study, in: collection, labels: labels))
        }
        return (markdown, charts)
    }

    func findingsTable(_ outcomes: [FindingOutcome]) -> String {
        let p2 = { (x: Double) in String(format: "%.2f", x) }
        let signed = { (x: Double) in String(format: "%+.2f", x) }
        var rows = ["## Findings\n",
                    "Each finding compares two arms the paper ranks: better − worse in accuracy points, with its 95% confidence "
                        + "interval; Welch's t-test between configurations, the paired t-test between TTA levels of the same runs. "
                        + "Verdict: *reproduced* (the paper's direction, p < α), *contradicted* (the opposite, p < α), "
                        + "*null: smaller than the paper's effect* (not significant, and the whole interval lies below the paper's "
                        + "effect), otherwise *same* or *opposite direction, not significant*. \"Runs to resolve\": runs per arm "
                        + "that detect the paper's effect (or, where it gives none, the one seen here) at the finding's α, "
                        + "two-sided, with power 0.8, by the normal approximation (`Statistics.runsNeeded`; it undercounts below about 10 runs, where the t distribution's heavier tails need more).\n",
                    "| # | finding | source | better − worse | paper | ours (n) | ours: difference [95% CI] | p (test) | α | verdict | runs to resolve |",
                    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for (i, o) in outcomes.enumerated() {
            let f = o.finding
            let paper = [f.paper.map { "\(p2($0.better)) vs \(p2($0.worse)) (\(signed($0.effect)))" }, f.paperNote]
                .compactMap { $0 }.joined(separator: "; ")
            rows.append("| \(i + 1) | \(markdownCell(f.name)) | \(markdownCell(f.source)) | \(markdownCell(f.better.description)) − \(markdownCell(f.worse.description)) | \(paper.isEmpty ? "–" : paper) "
                        + "| \(p2(o.betterMean)) vs \(p2(o.worseMean)) (\(o.betterRuns), \(o.worseRuns)) "
                        + "| \(signed(o.difference)) [\(signed(o.low)), \(signed(o.high))] "
                        + "| \(String(format: "%.2g", o.pValue)) (\(o.paired ? "paired" : "Welch")) | \(String(format: "%g", f.alpha)) "
                        + "| **\(o.verdict.rawValue)** | \(o.runsToResolve.map(String.init) ?? "–") |")
        }
        rows.append("")
        for o in outcomes {
            let size = o.paperEffectInInterval.map { inside in
                inside ? " The paper's \(signed(o.finding.paper!.effect)) lies in our interval."
                    : " The paper's \(signed(o.finding.paper!.effect)) lies outside our interval."
            } ?? ""
            rows.append("- **\(o.finding.name)** (\(o.finding.source)): \(o.verdict.rawValue), \(signed(o.difference)) points "
                        + "[\(signed(o.low)), \(signed(o.high))], p = \(String(format: "%.2g", o.pValue)).\(size)")
        }
        return rows.joined(separator: "\n") + "\n\n"
    }

    func varianceSection(_ v: VarianceOutcome) -> String {
        let pct = { (e: Estimate, digits: Int) in
            String(format: "%.\(digits)f [%.\(digits)f, %.\(digits)f]", 100 * e.value, 100 * e.low, 100 * e.high)
        }
        let plain = { (e: Estimate, format: String) in
            "\(String(format: format, e.value)) [\(String(format: format, e.low)), \(String(format: format, e.high))]"
        }
        var rows = ["## Variance and calibration (Table 4)\n",
                    "Configuration `\(v.study.configuration)`, \(v.runs) runs, each TTA level from the same runs. Intervals: "
                        + "percentile bootstrap over runs (\(VarianceStudy.resamples) resamples, seed \(VarianceStudy.bootstrapSeed)); "
                        + "for CACE and its change the delete-one jackknife (Student t, n − 1 degrees of freedom), because a "
                        + "bootstrap resample repeats runs, which acts as a smaller ensemble, and shifts CACE upwards. "
                        + "The paper's rows are from 10,000 runs each. CACE falls as runs are added (its bins are the R + 1 vote "
                        + "shares j/R, and a small ensemble's vote shares are noisy), so our CACE from \(v.runs) runs is "
                        + "comparable with the paper's in direction between TTA levels, not in size.\n",
                    "| TTA level | source | mean accuracy | test-set std | distribution-wise std | CACE | test-set var / dist.-wise var |",
                    "| --- | --- | --- | --- | --- | --- | --- |"]
        for level in v.levels {
            if let paper = v.study.paper[level.level] {
                let ratio = paper.testSetStd * paper.testSetStd / (paper.distributionWiseStd * paper.distributionWiseStd)
                rows.append("| \(level.level) | paper (n = 10,000) | \(String(format: "%.2f", paper.mean)) | \(String(format: "%.3f", paper.testSetStd)) "
                            + "| \(String(format: "%.3f", paper.distributionWiseStd)) | \(String(format: "%.4f", paper.cace)) | \(String(format: "%.1f", ratio)) |")
            }
            rows.append("| \(level.level) | ours (n = \(v.runs)) | \(pct(level.meanAccuracy, 2)) | \(pct(level.testSetStd, 3)) "
                        + "| \(pct(level.distributionWiseStd, 3)) | \(plain(level.cace, "%.4f")) | \(plain(level.varianceRatio, "%.1f")) |")
        }
        rows.append("")
        let ratioChecks = v.levels.map { level -> String in
            let r = level.varianceRatio
            let bound = VarianceStudy.varianceRatio
            let verdict = r.value >= bound && r.low >= bound ? "holds" : r.value < bound && r.high < bound ? "fails" : "not shown (the interval straddles 5)"
            return "level \(level.level): \(plain(r, "%.1f")), \(verdict)"
        }
        rows.append("- **Distribution-wise variance at least 5× below test-set variance** (paper: every row): "
                    + ratioChecks.joined(separator: "; ") + ".")
        let (low, high) = (v.levels.first!.level, v.levels.last!.level)
        func paper(_ value: (VarianceStudy.PaperRow) -> Double, _ format: String) -> String {
            guard let a = v.study.paper[low], let b = v.study.paper[high] else { return "" }
            return " (paper: \(String(format: format, value(a))) → \(String(format: format, value(b))))"
        }
        func direction(_ e: Estimate, wantUp: Bool) -> String {
            if wantUp ? e.low > 0 : e.high < 0 { return "reproduced" }
            if wantUp ? e.high < 0 : e.low > 0 { return "contradicted" }
            return "not significant (the interval holds 0)"
        }
        rows.append("- **TTA lowers the test-set std**\(paper(\.testSetStd, "%.3f")): level \(high) − level \(low) = "
                    + "\(pct(v.testSetStdChange, 3)) points, \(direction(v.testSetStdChange, wantUp: false)).")
        rows.append("- **TTA raises CACE**\(paper(\.cace, "%.4f")): level \(high) − level \(low) = "
                    + "\(plain(v.caceChange, "%+.4f")), \(direction(v.caceChange, wantUp: true)).")
        return rows.joined(separator: "\n") + "\n\n"
    }
}
