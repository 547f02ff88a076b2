import Airbench
import AirbenchData
import Foundation
import TOMLKit

/// A study: configurations of a method crossed with a range of seeds, read from a TOML file.
///
/// TOML because people write these by hand: comments, no quoting of keys, tables for the shared settings and a
/// plain array per grid axis, and a strict, well-kept parser (toml++ through TOMLKit). Hyperparameter names are
/// those of the run log's `hyperparameters` (and of `airbench train --set`), so nothing new has to be learnt:
///
///     name = "table1-reduced"
///     method = "airbench94"     # or a Table 5 preset such as "table5-svhn"
///     dataset = "cifar10"       # optional: cifar10 (default), cifar100, svhn, cinic10, or a table such as
///                               # { name = "cifar100", labels = "coarse" }; one data set per study
///     seeds = 8                 # seeds 0..7; or [first, count]
///     train_limit = 10000       # optional: the first N training images
///     shards = 4                # optional: the default shard count (see `Shard`)
///
///     [set]                     # every configuration
///     trainEpochs = 4
///     widths = { block1 = 32, block2 = 64, block3 = 64 }
///
///     [grid]                    # every combination of these values
///     order = ["reshuffle", "replacement"]
///     flip = ["random", "alternating"]
///
///     [[configuration]]         # optional named variants, each crossed with the grid
///     name = "cutout"
///     set = { cutout = 12 }     # and optionally method = "airbench95": another preset under [set]
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
    /// Resolved configurations, in a fixed order (named variants, then the grid in key order).
    public var configurations: [SweepConfiguration]

    /// Every run of the study, seed-major: the first seed of every configuration, then the second, … (a
    /// configuration with fewer seeds drops out when its seeds run out). A study stopped part-way, or a pilot of
    /// its first passes, so has every configuration at the same number of runs. Shards follow this order.
    public var runs: [SweepRun] {
        let passes = configurations.map(\.seeds.count).max() ?? 0
        return (0..<passes).flatMap { pass in
            configurations.filter { pass < $0.seeds.count }.map { SweepRun(configuration: $0, seed: $0.seeds[pass]) }
        }
    }

    /// Reads and resolves the spec in `url`; `dataset` (the command line's `--dataset`) chooses the data set
    /// when the spec names none, and must agree with it when it does.
    /// - Throws: `SweepSpecError` naming the file and what is wrong.
    public static func load(from url: URL, dataset: DatasetSelection? = nil) throws -> SweepSpec {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw SweepSpecError(file: url.path, message: "cannot read the file (\(error.localizedDescription))")
        }
        return try parse(text, file: url.path, dataset: dataset)
    }

    /// Parses and resolves a spec's text; `file` names it in errors; `dataset` as in `load`.
    public static func parse(_ text: String, file: String = "<spec>", dataset requested: DatasetSelection? = nil) throws -> SweepSpec {
        func fail(_ message: String) -> SweepSpecError { SweepSpecError(file: file, message: message) }
        let root: [String: Any]
        if let problem = TOMLPreflight.problem(in: text) { throw fail("line \(problem.line): \(problem.message)") }
        do {
            let table = try TOMLTable(string: text)
            guard let object = try JSONSerialization.jsonObject(with: Data(table.convert(to: .json).utf8)) as? [String: Any] else {
                throw fail("not a TOML table")
            }
            root = object
        } catch let error as TOMLParseError {
            throw fail("line \(error.source.begin.line), column \(error.source.begin.column): \(error.description)")
        }
        let known: Set = ["name", "description", "method", "dataset", "seeds", "train_limit", "shards", "set", "grid",
                          "configuration"]
        if let unknown = root.keys.sorted().first(where: { !known.contains($0) }) {
            throw fail("unknown key '\(unknown)' (keys: \(known.sorted().joined(separator: ", ")))")
        }
        guard let name = root["name"] as? String, !name.isEmpty else { throw fail("'name' (a string) is required") }
        guard root["method"] == nil || root["method"] is String else { throw fail("'method' must be a string") }
        let methodName = root["method"] as? String ?? "airbench94"
        func preset(_ name: String) throws -> Method {
            guard let method = Method.named(name) else {
                throw fail("unknown method '\(name)' (methods: \(Method.allWithPresets.map(\.name).joined(separator: ", ")))")
            }
            return method
        }
        _ = try preset(methodName)
        let seeds = try parseSeeds(root["seeds"], fail: fail)
        let trainLimit = try optionalPositive(root["train_limit"], "train_limit", fail: fail)
        let shards = try optionalPositive(root["shards"], "shards", fail: fail)
        let shared = try table(root["set"], "set", fail: fail) ?? [:]
        let variants = try parseVariants(root["configuration"], fail: fail)
        let grid = try parseGrid(root["grid"], fail: fail)
        let dataset = try resolveDataset(requested: requested, spec: parseDataset(root["dataset"], fail: fail),
                                         methods: try ([methodName] + variants.compactMap(\.method)).map(preset), fail: fail)
        var configurations = [SweepConfiguration]()
        for variant in variants {
            let base: Hyperparameters
            do {
                base = try preset(variant.method ?? methodName).hyperparameters.adapted(to: dataset).applying(shared)
            } catch let error as SweepSpecError {
                throw error
            } catch { throw fail("[set]: \(error)") }
            guard configurations.count + grid.count <= maximumConfigurations else {
                throw fail("more than \(maximumConfigurations) configurations")
            }
            for point in grid {
                let name = ([variant.name].compactMap { $0 } + point.map { "\($0.key)=\(describe($0.value))" })
                    .joined(separator: ",")
                var overrides = variant.set
                for (key, value) in point { overrides[key] = value }
                do {
                    let h = try base.applying(overrides)
                    try h.validate()  // every configuration can run, before the study's first run
                    configurations.append(SweepConfiguration(name: name.isEmpty ? "base" : name, overrides: overrides,
                                                             hyperparameters: h, seeds: variant.seeds ?? seeds))
                } catch { throw fail("configuration '\(name)': \(error)") }
            }
        }
        if Set(configurations.map(\.name)).count != configurations.count { throw fail("two configurations have the same name") }
        return SweepSpec(name: name, description: root["description"] as? String ?? "", method: methodName,
                         dataset: dataset, trainLimit: trainLimit, seeds: seeds, shards: shards, configurations: configurations)
    }

    /// The `dataset` key: a data set's name, or a table of `name`, `labels`, `svhn_extra`, `cinic_valid`.
    static func parseDataset(_ value: Any?, fail: (String) -> SweepSpecError) throws -> DatasetSelection? {
        let names = DatasetName.allCases.map(\.rawValue).joined(separator: ", ")
        switch value {
        case nil: return nil
        case let name as String:
            guard let dataset = DatasetName(rawValue: name) else { throw fail("unknown dataset '\(name)' (\(names))") }
            return DatasetSelection(dataset)
        case let table as [String: Any]:
            if let key = table.keys.sorted().first(where: { !["name", "labels", "svhn_extra", "cinic_valid"].contains($0) }) {
                throw fail("dataset: unknown key '\(key)' (name, labels, svhn_extra, cinic_valid)")
            }
            guard let name = table["name"] as? String, let dataset = DatasetName(rawValue: name) else {
                throw fail("dataset: 'name' must be one of \(names)")
            }
            let labels = try table["labels"].map { value -> CIFAR100Labels in
                guard let text = value as? String, let labels = CIFAR100Labels(rawValue: text) else {
                    throw fail("dataset: 'labels' must be fine or coarse")
                }
                return labels
            } ?? .fine
            func flag(_ key: String) throws -> Bool {
                guard let value = table[key] else { return false }
                guard let flag = value as? Bool else { throw fail("dataset: '\(key)' must be true or false") }
                return flag
            }
            let selection = DatasetSelection(dataset, labels: labels, svhnExtra: try flag("svhn_extra"),
                                             cinicValid: try flag("cinic_valid"))
            do { try selection.validate() } catch { throw fail("dataset: \(error)") }
            return selection
        default: throw fail("'dataset' must be a data set's name or a table")
        }
    }

    /// One data set per study: the command line's, else the spec's, else a Table 5 preset's, else CIFAR-10; any
    /// other that names a different data set is an error.
    static func resolveDataset(requested: DatasetSelection?, spec: DatasetSelection?, methods: [Method],
                               fail: (String) -> SweepSpecError) throws -> DatasetSelection {
        let stated = [(requested, "--dataset"), (spec, "'dataset'")] + methods.map { ($0.dataset, "method '\($0.name)'") }
        let given = stated.compactMap { selection, source in selection.map { ($0, source) } }
        guard let (chosen, source) = given.first else { return DatasetSelection(.cifar10) }
        if let (other, otherSource) = given.first(where: { $0.0.name != chosen.name }) {
            throw fail("\(source) trains on \(chosen.name.rawValue) but \(otherSource) on \(other.name.rawValue): one data set per study")
        }
        return chosen
    }

    /// At most this many seeds, and this many configurations, per study: a spec is read whole into memory, so a
    /// typo (or a hostile file) asking for 10¹⁸ seeds or a grid of 10¹² points is refused, not allocated.
    public static let maximumSeeds = 1_000_000
    public static let maximumConfigurations = 100_000

    static func parseSeeds(_ value: Any?, fail: (String) -> SweepSpecError) throws -> [UInt64] {
        let limit = "at most \(maximumSeeds) seeds"
        switch value {
        case nil: throw fail("'seeds' is required: a count (seeds 0..count-1) or [first, count]")
        case let count as Int where count > maximumSeeds: throw fail("'seeds' asks for \(count) seeds; \(limit)")
        case let pair as [Int] where pair.count == 2 && pair[1] > maximumSeeds: throw fail("'seeds' asks for \(pair[1]) seeds; \(limit)")
        case let count as Int where count > 0: return (0..<UInt64(count)).map { $0 }
        case let pair as [Int] where pair.count == 2 && pair[0] >= 0 && pair[1] > 0:
            return (0..<UInt64(pair[1])).map { UInt64(pair[0]) + $0 }
        default: throw fail("'seeds' must be a positive count or [first, count], got \(describe(value!))")
        }
    }

    static func optionalPositive(_ value: Any?, _ key: String, fail: (String) -> SweepSpecError) throws -> Int? {
        guard let value else { return nil }
        guard let number = value as? Int, number > 0 else { throw fail("'\(key)' must be a positive integer") }
        return number
    }

    static func table(_ value: Any?, _ key: String, fail: (String) -> SweepSpecError) throws -> [String: Any]? {
        guard let value else { return nil }
        guard let table = value as? [String: Any] else { throw fail("'\(key)' must be a table") }
        return table
    }

    /// The named variants (or one unnamed, empty one).
    static func parseVariants(_ value: Any?, fail: (String) -> SweepSpecError) throws
        -> [(name: String?, method: String?, set: [String: Any], seeds: [UInt64]?)] {
        guard let value else { return [(nil, nil, [:], nil)] }
        guard let list = value as? [[String: Any]], !list.isEmpty else { throw fail("'configuration' must be an array of tables") }
        return try list.enumerated().map { i, entry in
            guard let name = entry["name"] as? String, !name.isEmpty else { throw fail("configuration \(i + 1) needs a 'name'") }
            if let key = entry.keys.first(where: { !["name", "method", "set", "seeds"].contains($0) }) {
                throw fail("configuration '\(name)': unknown key '\(key)' (name, method, set, seeds)")
            }
            let seeds = try entry["seeds"].map { try parseSeeds($0, fail: { fail("configuration '\(name)': \($0)") }) }
            return (name, entry["method"] as? String, try table(entry["set"], "set", fail: fail) ?? [:], seeds)
        }
    }

    /// Every point of the grid, axes in key order (one empty point without a grid).
    static func parseGrid(_ value: Any?, fail: (String) -> SweepSpecError) throws -> [[(key: String, value: Any)]] {
        guard let grid = try table(value, "grid", fail: fail) else { return [[]] }
        var points: [[(key: String, value: Any)]] = [[]]
        for key in grid.keys.sorted() {
            guard let values = grid[key] as? [Any], !values.isEmpty else { throw fail("grid '\(key)' must be a non-empty array") }
            guard points.count * values.count <= maximumConfigurations else {
                throw fail("the grid has more than \(maximumConfigurations) points (at '\(key)')")
            }
            points = points.flatMap { point in values.map { point + [(key, $0)] } }
        }
        return points
    }
}

/// One configuration of a study: its name (the variant and grid values), the overrides and the resolved
/// hyperparameters.
public struct SweepConfiguration: @unchecked Sendable {
    public var name: String
    public var overrides: [String: Any]
    public var hyperparameters: Hyperparameters
    /// Its seeds: the study's, or the configuration's own `seeds` (a baseline with many runs beside variants with
    /// fewer).
    public var seeds: [UInt64]
}

/// One run: a configuration and a seed.
public struct SweepRun: @unchecked Sendable {
    public var configuration: SweepConfiguration
    public var seed: UInt64
    /// The result file's name: the configuration's name made file-safe, then the seed.
    public var fileName: String {
        let safe = configuration.name.map { $0.isLetter || $0.isNumber || "=,._-".contains($0) ? String($0) : "_" }.joined()
        return "\(safe)__seed\(seed).json"
    }
}

/// A spec that cannot be read or resolved.
public struct SweepSpecError: Error, CustomStringConvertible, Equatable {
    public var file: String
    public var message: String
    public var description: String { "\(file): \(message)" }
}

/// A value as a spec or a configuration name shows it.
func describe(_ value: Any) -> String {
    if let string = value as? String { return string }
    if let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys]) {
        return String(decoding: data, as: UTF8.self)
    }
    return "\(value)"
}
