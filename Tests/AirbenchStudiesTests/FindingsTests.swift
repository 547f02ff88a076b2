import AirbenchData
import AirbenchStudies
import Foundation
import XCTest

/// The findings part of a spec, the verdict rule, Table 4's bootstrap, and the known-answers report rebuilt from the
/// committed results.
final class FindingsTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let knownAnswers = root.appendingPathComponent("docs/studies/known-answers")

    let spec = """
        name: f
        seeds: 3
        set: {trainEpochs: 1}
        configuration:
          - name: full
          - name: replacement
            set: {order: replacement}
        findings:
          - name: reshuffling
            source: Table 1
            better: full
            worse: replacement
            paper: {better: 94.01, worse: 93.48}
            alpha: 0.01
          - name: TTA
            source: Table 4
            better: {configuration: full, tta: 2}
            worse: {configuration: full, tta: 0}
            paper_note: some epochs
        variance:
          configuration: full
          rows:
            - {tta: 2, mean: 94.01, test_set_std: 0.128, distribution_wise_std: 0.029, cace: 0.0533}
            - {tta: 0, mean: 93.25, test_set_std: 0.157, distribution_wise_std: 0.037, cace: 0.0312}
        notes: A note.
        """

    func testFindingsAreReadFromTheSpec() throws {
        let s = try SweepSpec.parse(spec)
        XCTAssertEqual(s.findings, [
            Finding(name: "reshuffling", source: "Table 1", better: .init(configuration: "full"), worse: .init(configuration: "replacement"),
                    paper: .init(better: 94.01, worse: 93.48), alpha: 0.01),
            Finding(name: "TTA", source: "Table 4", better: .init(configuration: "full", ttaLevel: 2),
                    worse: .init(configuration: "full", ttaLevel: 0), paperNote: "some epochs"),
        ])
        XCTAssertEqual(s.variance?.levels, [0, 2])
        XCTAssertEqual(s.variance?.paper[0]?.cace, 0.0312)
        XCTAssertEqual(s.variance?.paper[2]?.testSetStd, 0.128)
        XCTAssertEqual(s.notes, "A note.")
        // The shipped study states Table 1, Table 4 and Figure 4.
        let known = try SweepSpec.load(from: Self.root.appendingPathComponent("studies/known-answers.yaml"))
        XCTAssertEqual(known.findings.count, 10)
        XCTAssertEqual(known.findings.filter { $0.source == "Table 1" }.count, 4)
        XCTAssertEqual(known.variance?.levels, [0, 2])
    }

    func testMistakesInFindingsAreNamedWithTheirLine() {
        func message(_ from: String, _ to: String) -> String {
            XCTAssertTrue(spec.contains(from), from)
            do { _ = try SweepSpec.parse(spec.replacingOccurrences(of: from, with: to)); return "no error" } catch { return "\(error)" }
        }
        XCTAssertEqual(message("worse: replacement", "worse: replacemnt"),
                       "<spec>:12: finding 'reshuffling': 'worse' names no configuration of the study: 'replacemnt' (configurations: full; replacement)")
        XCTAssertEqual(message("tta: 2}\n", "tta: 3}\n"), "<spec>:17: finding 'TTA': 'better': tta must be a TTA level 0, 1 or 2")
        XCTAssertEqual(message("alpha: 0.01", "alpha: 1.5"), "<spec>:14: finding 'reshuffling': 'alpha' must be a number between 0 and 1")
        XCTAssertEqual(message("    source: Table 4\n", ""), "<spec>:15: finding 'TTA': 'source' (where the paper reports it) is required")
        XCTAssertEqual(message("paper_note:", "paper_notes:"), "<spec>:19: finding 'TTA': unknown key 'paper_notes' (name, source, better, worse, paper, paper_note, alpha)")
        XCTAssertEqual(message("worse: 93.48}", "lower: 93.48}"), "<spec>:13: finding 'reshuffling': 'paper' must be {better: ACCURACY, worse: ACCURACY} in percent")
        XCTAssertTrue(message("cace: 0.0312}", "cac: 0.0312}").hasPrefix("<spec>:24: variance: row 2 must be {tta, mean,"))
        XCTAssertEqual(message("tta: 0, mean", "tta: 2, mean"), "<spec>:24: variance: TTA level 2 is listed twice")
        XCTAssertEqual(message("configuration: full\n  rows", "configuration: none\n  rows"),
                       "<spec>:21: variance: 'configuration' must name a configuration of the study")
        XCTAssertEqual(message("notes: A note.", "notes: [1]"), "<spec>:25: 'notes' must be a string")
    }

    func testTheVerdictRule() {
        func verdict(_ d: Double, high: Double, p: Double, paper: Double? = 0.5) -> Verdict {
            FindingOutcome.verdict(difference: d, high: high, pValue: p, alpha: 0.01, paperEffect: paper)
        }
        XCTAssertEqual(verdict(0.6, high: 0.9, p: 0.001), .reproduced)
        XCTAssertEqual(verdict(0.1, high: 0.15, p: 0.001), .reproduced, "significance decides, whatever the size")
        XCTAssertEqual(verdict(-0.6, high: -0.3, p: 0.001), .contradicted)
        XCTAssertEqual(verdict(0.2, high: 0.6, p: 0.02), .sameDirectionNotSignificant, "p = 0.02 is not below α = 0.01")
        XCTAssertEqual(verdict(0.1, high: 0.4, p: 0.3), .smallerThanPaper, "the interval rules out +0.5")
        XCTAssertEqual(verdict(0.1, high: 0.4, p: 0.3, paper: nil), .sameDirectionNotSignificant, "no size to rule out")
        XCTAssertEqual(verdict(-0.1, high: 0.6, p: 0.6), .oppositeDirectionNotSignificant)
    }

    // MARK: Outcomes on synthetic runs

    /// A folder of runs made from one committed result: `accuracies[configuration][run]` at TTA levels 0, 1, 2, with
    /// predictions that are right on the first ⌊accuracy · N⌋ test images, shifted per run so runs disagree.
    func folder(_ accuracies: [String: [[Double]]]) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("airbench-findings-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        let results = Self.knownAnswers.appendingPathComponent("results")
        try FileManager.default.copyItem(at: results.appendingPathComponent("test-labels.json"), to: url.appendingPathComponent("test-labels.json"))
        let template = try SweepResult.read(from: results.appendingPathComponent("airbench94__seed0.json"))
        let labels = try XCTUnwrap(Data(base64Encoded: JSONDecoder().decode([String: String].self,
            from: Data(contentsOf: url.appendingPathComponent("test-labels.json")))["base64"]!)).map { $0 }
        for (configuration, runs) in accuracies {
            for (seed, levels) in runs.enumerated() {
                var r = template
                (r.configuration, r.seed) = (configuration, UInt64(seed))
                r.accuracy = levels.map { (($0 * Double(labels.count)).rounded(.down)) / Double(labels.count) }
                r.predictions = r.accuracy.map { accuracy in
                    let right = Int(accuracy * Double(labels.count)), shift = seed * 37
                    let predicted = labels.indices.map { i in
                        (i + labels.count - shift) % labels.count < right ? labels[i] : (labels[i] + 1) % 10
                    }
                    return Data(predicted).base64EncodedString()
                }
                let encoder = JSONEncoder()
                try encoder.encode(r).write(to: url.appendingPathComponent("\(configuration)__seed\(seed).json"))
            }
        }
        return url
    }

    func testFindingsAreTestedBetweenConfigurationsAndBetweenLevels() throws {
        let full = [[0.930, 0.936, 0.940], [0.933, 0.938, 0.942], [0.931, 0.935, 0.939]]
        let replacement = [[0.925, 0.930, 0.9345], [0.928, 0.931, 0.9362], [0.926, 0.929, 0.9338]]
        let results = try StudyResults.read(folder: folder(["full": full, "replacement": replacement]))
        let s = try SweepSpec.parse(spec)
        let reshuffle = try XCTUnwrap(FindingOutcome.test(s.findings[0], in: results))
        XCTAssertFalse(reshuffle.paired)
        let welch = TTest.welch(full.map { 100 * $0[2] }, replacement.map { 100 * $0[2] })
        XCTAssertEqual(reshuffle.difference, welch.difference, accuracy: 1e-9)
        XCTAssertEqual(reshuffle.pValue, welch.pValue, accuracy: 1e-9)
        XCTAssertEqual(reshuffle.verdict, welch.pValue < 0.01 ? .reproduced : .sameDirectionNotSignificant)
        XCTAssertEqual(reshuffle.paperEffectInInterval, reshuffle.low <= 0.53 && 0.53 <= reshuffle.high)
        let tta = try XCTUnwrap(FindingOutcome.test(s.findings[1], in: results))
        XCTAssertTrue(tta.paired)
        let paired = TTest.paired(full.map { 100 * $0[2] }, full.map { 100 * $0[0] })
        XCTAssertEqual(tta.difference, paired.difference, accuracy: 1e-9)
        XCTAssertEqual(tta.pValue, paired.pValue, accuracy: 1e-9)
        XCTAssertEqual(tta.verdict, .reproduced)
        // One run of an arm: no test yet.
        let partial = try StudyResults.read(folder: folder(["full": full, "replacement": [replacement[0]]]))
        XCTAssertNil(FindingOutcome.test(s.findings[0], in: partial))
    }

    func testTable4sBootstrapIsReproducibleAndResamplesRuns() throws {
        // Ten runs whose accuracies spread by about 0.3 points; TTA (level 2) adds 0.7.
        let runs = (0..<10).map { r -> [Double] in let a = 0.90 + 0.001 * Double((r * 7) % 10); return [a, a + 0.004, a + 0.007] }
        let url = try folder(["full": runs, "replacement": runs])
        let results = try StudyResults.read(folder: url)
        let study = try XCTUnwrap(SweepSpec.parse(spec).variance)
        let labels = try XCTUnwrap(results.labels)
        let v = try VarianceOutcome(study, in: results, labels: labels)
        XCTAssertEqual(v, try VarianceOutcome(study, in: results, labels: labels), "a fixed seed: the same intervals every time")
        XCTAssertEqual(v.runs, 10)
        for (level, l) in zip([0, 2], v.levels) {
            let accuracies = runs.map { ($0[level] * 10_000).rounded(.down) / 10_000 }
            XCTAssertEqual(l.meanAccuracy.value, Statistics.mean(accuracies), accuracy: 1e-12)
            XCTAssertEqual(l.testSetStd.value, Statistics.standardDeviation(accuracies), accuracy: 1e-12)
            // The percentile interval of the mean is close to the t interval (bootstrap intervals are a little
            // narrower for n = 10); a resampler that does not resample (or never repeats a run) gives width 0.
            let t = Statistics.confidenceInterval95(accuracies)
            let ratio = (l.meanAccuracy.high - l.meanAccuracy.low) / (t.high - t.low)
            XCTAssertGreaterThan(ratio, 0.6); XCTAssertLessThan(ratio, 1.2)
            for e in [l.meanAccuracy, l.testSetStd, l.distributionWiseStd, l.cace] { XCTAssertLessThanOrEqual(e.low, e.high) }
        }
        // Every run's level 2 is its level 0 shifted by the same 0.7 points: the test-set std cannot change.
        XCTAssertEqual(v.testSetStdChange.value, 0, accuracy: 1e-12)
    }

    /// The delete-one jackknife of a mean is the classic Student t interval: the left-out means spread by s/(n − 1),
    /// so √((n − 1)/n · Σ (mean₍ᵢ₎ − mean)²) = s/√n.
    func testTheJackknifeOfAMeanIsTheStudentTInterval() {
        let x = [90.1, 90.7, 90.4, 89.9, 90.6, 90.2, 91.0]
        let leftOut = x.indices.map { i in Statistics.mean(x.enumerated().filter { $0.offset != i }.map(\.element)) }
        let j = VarianceOutcome.jackknife(Statistics.mean(x), leftOut: leftOut)
        let t = Statistics.confidenceInterval95(x)
        XCTAssertEqual(j.low, t.low, accuracy: 1e-12)
        XCTAssertEqual(j.high, t.high, accuracy: 1e-12)
    }

    // MARK: The committed study

    /// CACE rises as runs are removed; a bootstrap resample (runs repeated, others left out) put every resample's
    /// CACE above the estimate. Its jackknife interval must hold the estimate, at each level and for the change.
    func testTable4sCACEIntervalsHoldTheirEstimates() throws {
        let spec = try SweepSpec.load(from: Self.root.appendingPathComponent("studies/known-answers.yaml"))
        let results = try StudyResults.read(folder: Self.knownAnswers.appendingPathComponent("results"))
        let v = try VarianceOutcome(try XCTUnwrap(spec.variance), in: results, labels: try XCTUnwrap(results.labels))
        for e in v.levels.map(\.cace) + [v.caceChange] {
            XCTAssertLessThan(e.low, e.value)
            XCTAssertGreaterThan(e.high, e.value)
        }
    }

    /// `airbench report docs/studies/known-answers/results --spec studies/known-answers.yaml --into docs/studies/known-answers`
    /// (whose title is the spec's description) gives the committed report, byte for byte.
    func testTheKnownAnswersReportIsRebuiltFromTheCommittedResults() throws {
        let spec = try SweepSpec.load(from: Self.root.appendingPathComponent("studies/known-answers.yaml"))
        let results = try StudyResults.read(folder: Self.knownAnswers.appendingPathComponent("results"))
        let into = FileManager.default.temporaryDirectory.appendingPathComponent("airbench-known-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: into) }
        let files = try Report(results, title: spec.title, spec: spec).write(to: into)
        XCTAssertTrue(files.map(\.lastPathComponent).contains("findings.svg"))
        for file in files {
            let committed = Self.knownAnswers.appendingPathComponent(file.lastPathComponent)
            XCTAssertEqual(try String(contentsOf: file, encoding: .utf8), try String(contentsOf: committed, encoding: .utf8),
                           "\(file.lastPathComponent) differs from the committed one: regenerate it with the command in docs/studies/README.md")
        }
    }
}
