import Foundation

/// Why JSON did not decode into the type asked for, as one phrase naming the field by its path
/// (`'accuracy[1]' needs a value of type Double`, `'schema' is missing`, `not valid JSON`): the one wording for
/// result files, model metadata, safetensors headers and hyperparameter overrides. Swift's own description of a
/// `DecodingError` is a dump of its coding path; an error that is not a `DecodingError` keeps its description.
public func decodingReason(_ error: any Error) -> String {
    guard let error = error as? DecodingError else { return "\(error)" }
    switch error {
    case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
        return "'\(fieldPath(context.codingPath))' needs a value of type \(type)"
    case .keyNotFound(let key, let context):
        return "'\(fieldPath(context.codingPath + [key]))' is missing"
    case .dataCorrupted(let context):
        if context.codingPath.isEmpty { return "not valid JSON" }
        return "'\(fieldPath(context.codingPath))': \(context.debugDescription)"
    @unknown default:
        return "\(error)"
    }
}

/// `widths.block1`, `accuracy[1]`: object keys joined by dots, array positions in brackets.
private func fieldPath(_ path: [any CodingKey]) -> String {
    var text = ""
    for key in path {
        if let index = key.intValue, key.stringValue.hasPrefix("Index ") || key.stringValue == "\(index)" {
            text += "[\(index)]"
        } else {
            text += (text.isEmpty ? "" : ".") + key.stringValue
        }
    }
    return text
}
