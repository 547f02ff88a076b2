import Airbench
import AirbenchData
import AirbenchFormats
import AirbenchKernels
import Foundation

/// A study: configurations of a method crossed with a range of seeds, read from a YAML file.
///
/// YAML because people write these by hand and the sweep tools they know (W&B sweeps, Hydra) use it: comments,
/// no quoting of keys or plain strings, a mapping for the shared settings and a list per grid axis. It is read
/// with Yams (libyaml), under the YAML 1.2 core schema (`SpecDocument` settles the pitfalls: `no` stays a
/// string, duplicate keys are errors, aliases are refused). Hyperparameter names are those of the run log's
/// `hyperparameters` (and of `airbench train --set`), so nothing new has to be learnt:
///
///     name: table1-reduced
///     method: airbench94      # or a Table 5 preset such as table5-svhn
///     dataset: cifar10        # optional: cifar10 (default), cifar100, svhn, cinic10, or a mapping such as
///                             # {name: cifar100, labels: coarse}; one data set per study
///     seeds: 8                # seeds 0..7; or [first, count]
///     train_limit: 10000      # optional: the first N training images
///     shards: 4               # optional: the default shard count (see `Shard`)
///     precision: fp32         # optional: the convolutions' precision every run must use (see `precision`)
///
///     set:                    # every configuration
///       trainEpochs: 4
///       widths: {block1: 32, block2: 64, block3: 64}
///
///     grid:                   # every combination of these values
///       order: [reshuffle, replacement]
///       flip: [random, alternating]
///
///     configuration:          # optional named variants, each crossed with the grid
///       - name: cutout
///         set: {cutout: 12}   # and optionally method: airbench95, another preset under `set`,
///                             # and seeds: this variant's own seeds
public struct SweepSpec: Sendable {
    public var name: String
    public var description: String
    public var method: String
    /// The study's data set (every configuration trains on it; the method is adapted to it as in Table 5).
    public var dataset: DatasetSelection
    public var trainLimit: Int?
    /// The study's seeds: every configuration's, unless it names its own.
    public var seeds: [UInt64]
    public var shards: Int?
    /// The precision every run of the study uses (fp32 or bf16), when the spec fixes it: runs of one study must
    /// not mix precisions, and the command line's default is the fastest the machine has, which differs between
    /// machines. `airbench sweep` runs in it and refuses a `--precision` that disagrees.
    public var precision: KernelPrecision?
    /// Resolved configurations, in a fixed order (named variants, then the grid in key order).
    public var configurations: [SweepConfiguration]
    /// What the study should find (`SweepSpec+Findings.swift`): the paper's effects, its Table 4, and notes for
    /// the report.
    public var findings: [Finding] = []
    public var variance: VarianceStudy?
    public var notes: String?

    /// Every run of the study, seed-major: the first seed of every configuration, then the second, … (a
    /// configuration with fewer seeds drops out when its seeds run out). A study stopped part-way, or a pilot of
    /// its first passes, so has every configuration at the same number of runs. Shards follow this order.
    public var runs: [SweepRun] {
        let passes = configurations.map(\.seeds.count).max() ?? 0
        return (0..<passes).flatMap { pass in
            configurations.filter { pass < $0.seeds.count }.map { SweepRun(configuration: $0, seed: $0.seeds[pass]) }
        }
    }

    /// The precision a sweep of this study runs in: the spec's, where it fixes one, else `requested` (the
    /// command line's `--precision`; nil: the machine's fastest).
    /// - Parameter bf16Available: whether this machine, on the instruction-set path asked for, runs bf16.
    /// - Throws: when `requested` disagrees with the spec's, or the spec asks for bf16 where it cannot run: a
    ///   study's runs never mix precisions.
    public func runPrecision(requested: KernelPrecision?, bf16Available: Bool) throws -> KernelPrecision? {
        guard let precision else { return requested }
        if let requested, requested != precision {
            throw StudyError("study \(name) runs in \(precision) (its spec's 'precision'), but --precision \(requested) was given")
        }
        if precision == .bf16 && !bf16Available {
            throw StudyError("study \(name) runs in bf16 (its spec's 'precision'): this needs the avx512 path on a CPU with AVX512_BF16")
        }
        return precision
    }

    /// Reads and resolves the spec in `url`; `dataset` (the command line's `--dataset`) chooses the data set
    /// when the spec names none, and must agree with it when it does.
    /// - Throws: `StudyError` naming the file, the line where there is one, and what is wrong; `FormatError` naming
    ///   the file when it cannot be read.
    public static func load(from url: URL, dataset: DatasetSelection? = nil) throws -> SweepSpec {
        guard let text = String(data: try readFile(url), encoding: .utf8) else {
            throw StudyError(file: url.path, message: "not UTF-8 text")
        }
        return try parse(text, file: url.path, dataset: dataset)
    }

    /// An error at the key or list item at a path from the spec's top level (its line, when the spec has one).
    typealias Fail = (_ message: String, _ path: [String]) -> StudyError

    /// Parses and resolves a spec's text; `file` names it in errors; `dataset` as in `load`.
    public static func parse(_ text: String, file: String = "<spec>", dataset requested: DatasetSelection? = nil) throws -> SweepSpec {
        let document = try SpecDocument(text, file: file)
        let root = document.root
        let fail: Fail = { message, path in StudyError(file: file, line: document.line(path), message: message) }
        let known: Set = ["name", "description", "method", "dataset", "seeds", "train_limit", "shards", "precision", "set",
                          "grid", "configuration", "findings", "variance", "notes"]
        if let unknown = document.inFileOrder(root.keys, under: []).first(where: { !known.contains($0) }) {
            throw fail("unknown key '\(unknown)' (keys: \(known.sorted().joined(separator: ", ")))", [unknown])
        }
        guard let name = root["name"] as? String, !name.isEmpty else { throw fail("'name' (a string) is required", ["name"]) }
        guard root["description"] == nil || root["description"] is String else {
            throw fail("'description' must be a string", ["description"])
        }
        guard root["method"] == nil || root["method"] is String else { throw fail("'method' must be a string", ["method"]) }
        let methodName = root["method"] as? String ?? "airbench94"
        func preset(_ name: String, at path: [String]) throws -> Method {
            guard let method = Method.named(name) else {
                throw fail("unknown method '\(name)' (methods: \(Method.allWithPresets.map(\.name).joined(separator: ", ")))", path)
            }
            return method
        }
        let studyPreset = try preset(methodName, at: ["method"])
        let seeds = try parseSeeds(root["seeds"], at: ["seeds"], fail: fail)
        let trainLimit = try optionalPositive(root["train_limit"], "train_limit", fail: fail)
        let shards = try optionalPositive(root["shards"], "shards", fail: fail)
        let precision = try root["precision"].map { value -> KernelPrecision in
            guard let text = value as? String, let precision = KernelPrecision(rawValue: text) else {
                throw fail("'precision' must be fp32 or bf16, got \(describe(value))", ["precision"])
            }
            return precision
        }
        let shared = try mapping(root["set"], at: ["set"], fail: fail) ?? [:]
        let variants = try parseVariants(root["configuration"], fail: fail)
        let grid = try parseGrid(root["grid"], fail: fail)
        let methods = try [studyPreset]
            + variants.compactMap { variant in try variant.method.map { try preset($0, at: variant.path + ["method"]) } }
        let dataset = try resolveDataset(requested: requested, spec: parseDataset(root["dataset"], fail: fail),
                                         methods: methods, fail: { fail($0, ["dataset"]) })

        // Sizes first, from counts alone: nothing is allocated per configuration or seed before they pass.
        let configurationCount = variants.count * grid.count
        guard configurationCount <= maximumConfigurations else {
            throw fail("the study has \(configurationCount) configurations (named ones × grid points); "
                       + "at most \(maximumConfigurations) are allowed", [])
        }
        let runCount = grid.count * variants.map { ($0.seeds ?? seeds).count }.reduce(0, +)
        guard runCount <= maximumRuns else {
            throw fail("the study has \(runCount) runs (configurations × their seeds); at most \(maximumRuns) are allowed", [])
        }

        let studySeeds = seeds.values
        var configurations = [SweepConfiguration]()
        let sharedEntries = document.entries(shared, under: ["set"])
        for variant in variants {
            let presetName = variant.method ?? methodName
            let start = try preset(presetName, at: variant.path).hyperparameters.adapted(to: dataset)
            let base: Hyperparameters
            do { base = try start.applying(values(sharedEntries)) } catch {
                throw fail("set: \(reason(error))", firstFailing(sharedEntries, on: start)?.path ?? ["set"])
            }
            let variantSeeds = variant.seeds?.values ?? studySeeds
            for point in grid {
                let name = ([variant.name].compactMap { $0 } + point.map { "\($0.key)=\(describe($0.value))" })
                    .joined(separator: ",")
                let configurationName = name.isEmpty ? "base" : name
                // The grid's values replace the variant's own for the same key.
                let overrides = document.entries(variant.set, under: variant.path + ["set"])
                    .filter { entry in !point.contains { $0.key == entry.key } }
                    + point.map { (key: $0.key, value: $0.value, path: ["grid", $0.key, String($0.index)]) }
                do {
                    let h = try base.applying(values(overrides))
                    try h.validate()  // every configuration can run, before the study's first run
                    configurations.append(SweepConfiguration(name: configurationName, method: presetName,
                                                             overrides: values(overrides), hyperparameters: h,
                                                             seeds: variantSeeds))
                } catch {
                    // When `set` alone already fails the check, the fault is there; else in what this configuration adds.
                    let culprit = (try? base.validate()) == nil
                        ? firstFailing(sharedEntries, on: start) : firstFailing(overrides, on: base)
                    throw fail("configuration '\(configurationName)': \(reason(error))", culprit?.path ?? variant.path)
                }
            }
        }
        try checkResultFileNames(configurations, fail: fail)
        guard root["notes"] == nil || root["notes"] is String else { throw fail("'notes' must be a string", ["notes"]) }
        return SweepSpec(name: name, description: root["description"] as? String ?? "", method: methodName,
                         dataset: dataset, trainLimit: trainLimit, seeds: studySeeds, shards: shards, precision: precision,
                         configurations: configurations,
                         findings: try parseFindings(root["findings"], configurations: configurations, fail: fail),
                         variance: try parseVariance(root["variance"], configurations: configurations, fail: fail),
                         notes: root["notes"] as? String)
    }

    /// A key, its value and where the spec gives it.
    typealias Entry = (key: String, value: Any, path: [String])

    static func values(_ entries: [Entry]) -> [String: Any] {
        Dictionary(uniqueKeysWithValues: entries.map { ($0.key, $0.value) })
    }

    /// What is wrong with a configuration, without the "invalid configuration" the message already says.
    static func reason(_ error: Error) -> String {
        if case let TrainingError.invalidConfiguration(message) = error { return message }
        return "\(error)"
    }

    /// The first of `entries` (in file order) that `start` cannot take on its own, for the line of an error; nil
    /// when only their combination fails.
    static func firstFailing(_ entries: [Entry], on start: Hyperparameters) -> Entry? {
        entries.first { (try? start.applying([$0.key: $0.value]).validate()) == nil }
    }

    /// Every run's result file must be its own: two configurations whose names differ only in characters that file
    /// names replace with `_` (`a/b` and `a_b`), or only in case (one file on a case-insensitive file system, as
    /// macOS has by default), would share theirs, and the second would find its runs done.
    static func checkResultFileNames(_ configurations: [SweepConfiguration], fail: Fail) throws {
        var owners = [String: String]()
        for configuration in configurations {
            let stem = configuration.fileStem
            if let other = owners.updateValue(configuration.name, forKey: stem.lowercased()) {
                throw fail(other == configuration.name
                    ? "two configurations are named '\(other)'"
                    : "configurations '\(other)' and '\(configuration.name)' would share their result files (\(stem)__seed….json): "
                        + "file names keep letters, digits and =,._- and replace the rest with _, and may ignore case", [])
            }
        }
    }

    /// The `dataset` key: a data set's name, or a mapping of `name`, `labels`, `svhn_extra`, `cinic_valid`.
    static func parseDataset(_ value: Any?, fail: Fail) throws -> DatasetSelection? {
        let names = DatasetName.allCases.map(\.rawValue).joined(separator: ", ")
        let fields = ["name", "labels", "svhn_extra", "cinic_valid"]
        switch value {
        case nil: return nil
        case let name as String:
            guard let dataset = DatasetName(rawValue: name) else { throw fail("unknown dataset '\(name)' (\(names))", ["dataset"]) }
            return DatasetSelection(dataset)
        case let mapping as [String: Any]:
            if let key = mapping.keys.sorted().first(where: { !fields.contains($0) }) {
                throw fail("dataset: unknown key '\(key)' (\(fields.joined(separator: ", ")))", ["dataset", key])
            }
            guard let name = mapping["name"] as? String, let dataset = DatasetName(rawValue: name) else {
                throw fail("dataset: 'name' must be one of \(names)", ["dataset", "name"])
            }
            let labels = try mapping["labels"].map { value -> CIFAR100Labels in
                guard let text = value as? String, let labels = CIFAR100Labels(rawValue: text) else {
                    throw fail("dataset: 'labels' must be fine or coarse", ["dataset", "labels"])
                }
                return labels
            } ?? .fine
            func flag(_ key: String) throws -> Bool {
                guard let value = mapping[key] else { return false }
                guard let flag = value as? Bool else { throw fail("dataset: '\(key)' must be true or false", ["dataset", key]) }
                return flag
            }
            let selection = DatasetSelection(dataset, labels: labels, svhnExtra: try flag("svhn_extra"),
                                             cinicValid: try flag("cinic_valid"))
            do { try selection.validate() } catch { throw fail("dataset: \(error)", ["dataset"]) }
            return selection
        default: throw fail("'dataset' must be a data set's name or a mapping", ["dataset"])
        }
    }

    /// One data set per study: the command line's, else the spec's, else a Table 5 preset's, else CIFAR-10; any
    /// other that names a different data set is an error.
    static func resolveDataset(requested: DatasetSelection?, spec: DatasetSelection?, methods: [Method],
                               fail: (String) -> StudyError) throws -> DatasetSelection {
        let stated = [(requested, "--dataset"), (spec, "'dataset'")] + methods.map { ($0.dataset, "method '\($0.name)'") }
        let given = stated.compactMap { selection, source in selection.map { ($0, source) } }
        guard let (chosen, source) = given.first else { return DatasetSelection(.cifar10) }
        if let (other, otherSource) = given.first(where: { $0.0.name != chosen.name }) {
            throw fail("\(source) trains on \(chosen.name.rawValue) but \(otherSource) on \(other.name.rawValue): one data set per study")
        }
        return chosen
    }

    /// At most this many seeds, configurations and runs per study: a spec is read whole into memory, so a typo (or
    /// a hostile file) asking for 10¹⁸ seeds, a grid of 10¹² points or a million variants with a million seeds
    /// each is refused, from the counts, before anything is allocated for it.
    public static let maximumSeeds = 1_000_000
    public static let maximumConfigurations = 100_000
    public static let maximumRuns = 1_000_000

    /// Seeds `first`, `first + 1`, …: a count until they are known to fit.
    struct Seeds {
        var first: UInt64
        var count: Int
        var values: [UInt64] { (0..<UInt64(count)).map { first + $0 } }
    }

    /// `seeds`: a count (seeds 0..count-1) or [first, count].
    static func parseSeeds(_ value: Any?, at path: [String], fail: Fail) throws -> Seeds {
        let limit = "at most \(maximumSeeds) seeds"
        switch value {
        case nil: throw fail("'seeds' is required: a count (seeds 0..count-1) or [first, count]", path)
        case let count as Int where count > maximumSeeds: throw fail("'seeds' asks for \(count) seeds; \(limit)", path)
        case let pair as [Int] where pair.count == 2 && pair[1] > maximumSeeds:
            throw fail("'seeds' asks for \(pair[1]) seeds; \(limit)", path)
        case let count as Int where count > 0: return Seeds(first: 0, count: count)
        case let pair as [Int] where pair.count == 2 && pair[0] >= 0 && pair[1] > 0:
            return Seeds(first: UInt64(pair[0]), count: pair[1])
        default: throw fail("'seeds' must be a positive count or [first, count], got \(describe(value!))", path)
        }
    }

    static func optionalPositive(_ value: Any?, _ key: String, fail: Fail) throws -> Int? {
        guard let value else { return nil }
        guard let number = value as? Int, number > 0 else { throw fail("'\(key)' must be a positive integer", [key]) }
        return number
    }

    static func mapping(_ value: Any?, at path: [String], fail: Fail) throws -> [String: Any]? {
        guard let value else { return nil }
        guard let mapping = value as? [String: Any] else { throw fail("'\(path.last ?? "")' must be a mapping (key: value, …)", path) }
        return mapping
    }

    /// A named variant: its path in the spec (for errors), its own preset, settings and seeds.
    struct Variant {
        var name: String?
        var path: [String]
        var method: String?
        var set: [String: Any]
        var seeds: Seeds?
    }

    /// The named variants (or one unnamed, empty one).
    static func parseVariants(_ value: Any?, fail: Fail) throws -> [Variant] {
        guard let value else { return [Variant(name: nil, path: [], method: nil, set: [:], seeds: nil)] }
        guard let list = value as? [Any], !list.isEmpty else {
            throw fail("'configuration' must be a list of mappings (- name: …)", ["configuration"])
        }
        return try list.enumerated().map { i, item in
            let path = ["configuration", String(i)]
            guard let entry = item as? [String: Any] else { throw fail("configuration \(i + 1) must be a mapping (name: …)", path) }
            guard let name = entry["name"] as? String, !name.isEmpty else { throw fail("configuration \(i + 1) needs a 'name'", path) }
            if let key = entry.keys.sorted().first(where: { !["name", "method", "set", "seeds"].contains($0) }) {
                throw fail("configuration '\(name)': unknown key '\(key)' (name, method, set, seeds)", path + [key])
            }
            guard entry["method"] == nil || entry["method"] is String else {
                throw fail("configuration '\(name)': 'method' must be a string", path + ["method"])
            }
            let seeds = try entry["seeds"].map {
                try parseSeeds($0, at: path + ["seeds"], fail: { fail("configuration '\(name)': \($0)", $1) })
            }
            return Variant(name: name, path: path, method: entry["method"] as? String,
                           set: try mapping(entry["set"], at: path + ["set"], fail: fail) ?? [:], seeds: seeds)
        }
    }

    /// Every point of the grid, axes in key order (one empty point without a grid); each value with its index in
    /// its axis.
    static func parseGrid(_ value: Any?, fail: Fail) throws -> [[(key: String, value: Any, index: Int)]] {
        guard let grid = try mapping(value, at: ["grid"], fail: fail) else { return [[]] }
        var points: [[(key: String, value: Any, index: Int)]] = [[]]
        for key in grid.keys.sorted() {
            guard let values = grid[key] as? [Any], !values.isEmpty else {
                throw fail("grid '\(key)' must be a non-empty list", ["grid", key])
            }
            guard points.count * values.count <= maximumConfigurations else {
                throw fail("the grid has more than \(maximumConfigurations) points (at '\(key)')", ["grid", key])
            }
            points = points.flatMap { point in values.enumerated().map { point + [(key, $1, $0)] } }
        }
        return points
    }
}
