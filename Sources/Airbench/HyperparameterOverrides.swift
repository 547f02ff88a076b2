import AirbenchFormats
import Foundation

/// Overrides of hyperparameters by name, as `airbench train --set` and sweep specs give them: the names and
/// values of the hyperparameters' JSON form (what `--log` writes), nested fields with dots or nested objects.
/// Going through the JSON form keeps one source of truth for names and types: the decoder that reads logs
/// checks every value.
extension Hyperparameters {
    /// These hyperparameters with `name` (dotted for nested fields, e.g. `proxy.keep`) set to `value` (a JSON
    /// value: number, string, bool, array or object as `JSONSerialization` gives them).
    public func setting(_ name: String, to value: Any) throws -> Hyperparameters {
        var object: Any = value
        for key in name.split(separator: ".").reversed().dropLast() { object = [String(key): object] }
        return try applying([String(name.split(separator: ".").first ?? ""): object])
    }

    /// These hyperparameters with every entry of `overrides` applied: objects merge field by field into the
    /// current value (so `widths = {block1 = 32}` keeps the other widths), anything else replaces it.
    public func applying(_ overrides: [String: Any]) throws -> Hyperparameters {
        guard let root = try JSONSerialization.jsonObject(with: JSONEncoder().encode(self)) as? [String: Any] else {
            throw TrainingError.invalidConfiguration("internal: hyperparameters are not a JSON object")
        }
        let merged = try Self.merge(overrides, into: root, path: [], defaults: Self.optionalDefaults)
        do {
            return try JSONDecoder().decode(Hyperparameters.self, from: JSONSerialization.data(withJSONObject: merged))
        } catch {
            throw TrainingError.invalidConfiguration(decodingReason(error))
        }
    }

    /// Fields that are absent from the JSON form while nil, with the value an object merges into.
    static var optionalDefaults: [String: Any] {
        let proxy = (try? JSONSerialization.jsonObject(with: JSONEncoder().encode(ProxyFilter.Settings()))) ?? [:]
        return ["proxy": proxy, "whitenBiasEpochs": NSNull(), "scalingFactor": NSNull()]
    }

    static func merge(_ overrides: [String: Any], into object: [String: Any], path: [String],
                      defaults: [String: Any]) throws -> [String: Any] {
        var object = object
        for (key, value) in overrides {
            let name = (path + [key]).joined(separator: ".")
            guard let current = object[key] ?? defaults[key] else {
                throw TrainingError.invalidConfiguration("no hyperparameter '\(name)' (names: \(object.keys.sorted().joined(separator: ", ")))")
            }
            // JSON has no infinity or NaN, so they are refused here, before the JSON form is written.
            if let number = value as? Double, !number.isFinite {
                throw TrainingError.invalidConfiguration("\(name) = \(number) is not a finite number")
            }
            if let fields = value as? [String: Any], let currentFields = current as? [String: Any] {
                object[key] = try merge(fields, into: currentFields, path: path + [key], defaults: [:])
            } else {
                object[key] = value
            }
        }
        return object
    }
}
