import Airbench
import Foundation

/// One configuration of a study: its name (the variant and grid values), the preset it starts from, the
/// overrides and the resolved hyperparameters.
public struct SweepConfiguration: @unchecked Sendable {
    public var name: String
    /// The preset it starts from: the variant's `method`, else the study's.
    public var method: String
    public var overrides: [String: Any]
    public var hyperparameters: Hyperparameters
    /// Its seeds: the study's, or the configuration's own `seeds` (a baseline with many runs beside variants with
    /// fewer).
    public var seeds: [UInt64]

    /// The name made file-safe: letters, digits and `=,._-` kept, anything else `_`.
    public var fileStem: String {
        name.map { $0.isLetter || $0.isNumber || "=,._-".contains($0) ? String($0) : "_" }.joined()
    }

    /// The overrides in YAML's compact flow form, keys sorted: `{flip: random, widths: {block1: 8}}`.
    public var overridesText: String { compact(overrides) }
}

/// One run: a configuration and a seed.
public struct SweepRun: @unchecked Sendable {
    public var configuration: SweepConfiguration
    public var seed: UInt64
    /// The result file's name: the configuration's name made file-safe, then the seed.
    public var fileName: String { "\(configuration.fileStem)__seed\(seed).json" }
}

/// A value as a spec or a configuration name shows it: strings as they are, anything else as JSON.
func describe(_ value: Any) -> String {
    if let string = value as? String { return string }
    if let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys]) {
        return String(decoding: data, as: UTF8.self)
    }
    return "\(value)"
}

/// A value in YAML's flow form, for people to read (strings unquoted, mappings with sorted keys).
func compact(_ value: Any) -> String {
    switch value {
    case let mapping as [String: Any]:
        return "{" + mapping.keys.sorted().map { "\($0): \(compact(mapping[$0]!))" }.joined(separator: ", ") + "}"
    case let list as [Any]:
        return "[" + list.map(compact).joined(separator: ", ") + "]"
    default:
        return describe(value)
    }
}
