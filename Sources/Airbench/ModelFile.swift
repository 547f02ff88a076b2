import Foundation

/// The project version, written into logs and model files.
public enum AirbenchVersion {
    public static let current = "0.1.0"
}

/// Errors reading a model file.
public enum ModelFileError: Error, CustomStringConvertible, Equatable {
    case missingTensor(file: String, name: String)
    case wrongShape(file: String, name: String, expected: [Int], actual: [Int])
    case notAnAirbench94Model(file: String, reason: String)

    public var description: String {
        switch self {
        case .missingTensor(let file, let name): return "\(file): tensor '\(name)' is missing"
        case .wrongShape(let file, let name, let expected, let actual):
            return "\(file): tensor '\(name)' has shape \(actual), expected \(expected)"
        case .notAnAirbench94Model(let file, let reason): return "\(file): not an airbench94 model: \(reason)"
        }
    }
}

extension Network94 {
    /// The state as safetensors: F32, PyTorch OIHW layout, keys of Listing 4's `nn.Sequential` state_dict
    /// (`0.weight`, `0.bias`, `2.conv1.weight`, `2.norm1.bias`, ..., `7.weight`), so that
    /// `net.load_state_dict(safetensors.torch.load_file(path), strict=False)` loads it (only
    /// `num_batches_tracked` is absent).
    public func safetensors(metadata: [String: String] = [:]) -> SafetensorsFile {
        var file = SafetensorsFile(metadata: metadata.merging([
            "format": "pt", "model": "airbench94", "airbench_version": AirbenchVersion.current,
            "widths": widths.array.map(String.init).joined(separator: ","),
        ]) { mine, _ in mine })
        for entry in state.layout.entries { file.setFloats(state.values(entry.name), shape: entry.shape, for: entry.name) }
        return file
    }

    /// Writes the model to `url` (temporary file, then rename).
    public func save(to url: URL, metadata: [String: String] = [:]) throws {
        try safetensors(metadata: metadata).write(to: url)
    }

    /// Reads a model written by `save` (or a PyTorch airbench94 state_dict saved as safetensors); the widths
    /// come from the tensor shapes.
    public static func load(from url: URL) throws -> Network94 {
        let file = try SafetensorsFile.read(from: url)
        let name = url.path
        func shape(_ key: String) throws -> [Int] {
            guard file.contains(key) else { throw ModelFileError.missingTensor(file: name, name: key) }
            return try file.shape(key)
        }
        let widths = Widths(block1: try shape("2.conv1.weight")[0], block2: try shape("3.conv1.weight")[0],
                            block3: try shape("4.conv1.weight")[0])
        let network = Network94(widths: widths)
        for entry in network.state.layout.entries {
            let actual = try shape(entry.name)
            guard actual == entry.shape else {
                throw ModelFileError.wrongShape(file: name, name: entry.name, expected: entry.shape, actual: actual)
            }
            let values = try file.floats(entry.name)
            guard values.allSatisfy(\.isFinite) else {
                throw ModelFileError.notAnAirbench94Model(file: name, reason: "'\(entry.name)' holds NaN or infinity")
            }
            network.state.set(entry.name, values)
        }
        return network
    }
}
