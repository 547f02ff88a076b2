import Foundation

/// The part of a spec that states what the study should find (`airbench report --spec` tests it):
///
///     findings:               # effects the paper reports: it finds `better` more accurate than `worse`
///       - name: random reshuffling
///         source: Table 1
///         better: airbench94                          # a configuration at its own TTA level, or
///         worse: {configuration: "order=replacement", tta: 2}   # one at a given level (0, 1, 2)
///         paper: {better: 94.01, worse: 93.48}        # the paper's accuracies (%), when it prints them
///         paper_note: "…"                             # otherwise (or also) what it reports, as text
///         alpha: 0.01                                 # the verdict's significance level (default 0.05)
///     variance:               # Table 4 on one configuration's runs, at TTA levels of the same runs
///       configuration: airbench94
///       rows:
///         - {tta: 0, mean: 93.25, test_set_std: 0.157, distribution_wise_std: 0.037, cace: 0.0312}
///     notes: |                # Markdown the report prints as it is (scale, reasons, costs)
extension SweepSpec {
    /// A report's title: the description, or the name when there is none.
    public var title: String { description.isEmpty ? name : description }

    static let findingKeys = ["name", "source", "better", "worse", "paper", "paper_note", "alpha"]

    static func parseFindings(_ value: Any?, configurations: [SweepConfiguration], fail: @escaping Fail) throws -> [Finding] {
        guard let value else { return [] }
        guard let list = value as? [Any] else { throw fail("'findings' must be a list of mappings (- name: …)", ["findings"]) }
        let names = Set(configurations.map(\.name))
        return try list.enumerated().map { i, item in
            let path = ["findings", String(i)]
            guard let entry = item as? [String: Any], let name = entry["name"] as? String, !name.isEmpty else {
                throw fail("finding \(i + 1) must be a mapping with a 'name'", path)
            }
            let fail: Fail = { message, at in fail("finding '\(name)': \(message)", at) }
            if let key = entry.keys.sorted().first(where: { !findingKeys.contains($0) }) {
                throw fail("unknown key '\(key)' (\(findingKeys.joined(separator: ", ")))", path + [key])
            }
            func arm(_ key: String) throws -> Finding.Arm {
                let at = path + [key]
                let arm: Finding.Arm
                switch entry[key] {
                case let configuration as String: arm = Finding.Arm(configuration: configuration)
                case let mapping as [String: Any]:
                    guard Set(mapping.keys).isSubset(of: ["configuration", "tta"]), let configuration = mapping["configuration"] as? String else {
                        throw fail("'\(key)' must be a configuration's name or {configuration: NAME, tta: LEVEL}", at)
                    }
                    guard mapping["tta"] == nil || (mapping["tta"] as? Int).map({ (0...2).contains($0) }) == true else {
                        throw fail("'\(key)': tta must be a TTA level 0, 1 or 2", at + ["tta"])
                    }
                    arm = Finding.Arm(configuration: configuration, ttaLevel: mapping["tta"] as? Int)
                default: throw fail("'\(key)' is required: a configuration's name or {configuration: NAME, tta: LEVEL}", at)
                }
                guard names.contains(arm.configuration) else {
                    throw fail("'\(key)' names no configuration of the study: '\(arm.configuration)' (configurations: \(configurations.map(\.name).joined(separator: "; ")))", at)
                }
                return arm
            }
            let paper = try mapping(entry["paper"], at: path + ["paper"], fail: fail).map { paper in
                guard Set(paper.keys) == ["better", "worse"], let better = number(paper["better"]), let worse = number(paper["worse"]) else {
                    throw fail("'paper' must be {better: ACCURACY, worse: ACCURACY} in percent", path + ["paper"])
                }
                return Finding.PaperAccuracies(better: better, worse: worse)
            }
            guard entry["source"] is String else { throw fail("'source' (where the paper reports it) is required", path + ["source"]) }
            guard entry["paper_note"] == nil || entry["paper_note"] is String else { throw fail("'paper_note' must be a string", path + ["paper_note"]) }
            let alpha = try entry["alpha"].map { value -> Double in
                guard let alpha = number(value), alpha > 0, alpha < 1 else { throw fail("'alpha' must be a number between 0 and 1", path + ["alpha"]) }
                return alpha
            } ?? 0.05
            return Finding(name: name, source: entry["source"] as! String, better: try arm("better"), worse: try arm("worse"),
                           paper: paper, paperNote: entry["paper_note"] as? String, alpha: alpha)
        }
    }

    static func parseVariance(_ value: Any?, configurations: [SweepConfiguration], fail: Fail) throws -> VarianceStudy? {
        guard let variance = try mapping(value, at: ["variance"], fail: fail) else { return nil }
        if let key = variance.keys.sorted().first(where: { !["configuration", "rows"].contains($0) }) {
            throw fail("variance: unknown key '\(key)' (configuration, rows)", ["variance", key])
        }
        guard let configuration = variance["configuration"] as? String, configurations.contains(where: { $0.name == configuration }) else {
            throw fail("variance: 'configuration' must name a configuration of the study", ["variance", "configuration"])
        }
        let fields = ["tta", "mean", "test_set_std", "distribution_wise_std", "cace"]
        guard let rows = variance["rows"] as? [Any], rows.count >= 2 else {
            throw fail("variance: 'rows' must list at least two TTA levels (- {tta: 0, mean: …, test_set_std: …, distribution_wise_std: …, cace: …})",
                       ["variance", "rows"])
        }
        var paper = [Int: VarianceStudy.PaperRow]()
        for (i, item) in rows.enumerated() {
            let at = ["variance", "rows", String(i)]
            guard let row = item as? [String: Any], Set(row.keys) == Set(fields), let level = row["tta"] as? Int, (0...2).contains(level),
                  let values = Optional(fields.dropFirst().compactMap({ number(row[$0]) })), values.count == 4 else {
                throw fail("variance: row \(i + 1) must be {\(fields.joined(separator: ", "))} with a TTA level 0–2 and numbers", at)
            }
            guard paper.updateValue(VarianceStudy.PaperRow(mean: values[0], testSetStd: values[1], distributionWiseStd: values[2], cace: values[3]),
                                    forKey: level) == nil else { throw fail("variance: TTA level \(level) is listed twice", at) }
        }
        return VarianceStudy(configuration: configuration, levels: Array(paper.keys), paper: paper)
    }

    /// A YAML number as a Double (the core schema gives integers and floats apart).
    static func number(_ value: Any?) -> Double? {
        switch value {
        case let x as Int: return Double(x)
        case let x as Double where x.isFinite: return x
        default: return nil
        }
    }
}
