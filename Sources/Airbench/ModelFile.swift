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

extension Network {
    /// The state as safetensors: F32, PyTorch OIHW layout, keys of the reference script's `nn.Sequential`
    /// state_dict (`0.weight`, `0.bias`, `2.conv1.weight`, `2.norm1.bias`, ..., `7.weight` for airbench94), so
    /// that `net.load_state_dict(safetensors.torch.load_file(path), strict=False)` loads it (only
    /// `num_batches_tracked` is absent). Metadata: `model` (the spec's name) and the group `widths`.
    public func safetensors(metadata: [String: String] = [:]) -> SafetensorsFile {
        var file = SafetensorsFile(metadata: metadata.merging([
            "format": "pt", "model": spec.name, "airbench_version": AirbenchVersion.current,
            "widths": spec.groups.map { String($0.width) }.joined(separator: ","),
        ]) { mine, _ in mine })
        for entry in state.layout.entries { file.setFloats(state.values(entry.name), shape: entry.shape, for: entry.name) }
        return file
    }

    /// Writes the model to `url` (temporary file, then rename).
    public func save(to url: URL, metadata: [String: String] = [:]) throws {
        try safetensors(metadata: metadata).write(to: url)
    }

    /// Reads a model written by `save` (or a PyTorch airbench state_dict saved as safetensors). The network's
    /// shape comes from the tensors: the whitening kernel and input channels from `0.weight`, one ConvGroup per
    /// `N.conv1.weight` (N = 2, 3, …) with as many convs as `N.convK.weight` keys, the classes from the Linear
    /// weight after them. What the state does not hold comes from the arguments: the image size (that of the
    /// data the model is evaluated on) and the output scale (1/9 in every airbench method). Residual groups
    /// have no tensors of their own and are not recognised yet.
    public static func load(from url: URL, input: NetworkSpec.Input = .cifar, outputScale: Double = 1.0 / 9)
        throws -> Network {
        let file = try SafetensorsFile.read(from: url)
        let name = url.path
        func shape(_ key: String) throws -> [Int] {
            guard file.contains(key) else { throw ModelFileError.missingTensor(file: name, name: key) }
            return try file.shape(key)
        }
        let whitening = try shape(Network.whiteningWeight)
        guard whitening.count == 4 else {
            throw ModelFileError.wrongShape(file: name, name: Network.whiteningWeight, expected: [24, 3, 2, 2],
                                            actual: whitening)
        }
        var groups = [NetworkSpec.ConvGroup]()
        while file.contains("\(groups.count + 2).conv1.weight") {
            let module = groups.count + 2
            var convs = 1
            while file.contains("\(module).conv\(convs + 1).weight") { convs += 1 }
            groups.append(NetworkSpec.ConvGroup(width: try shape("\(module).conv1.weight")[0], convs: convs))
        }
        let headKey = "\(groups.count + 4).weight"
        let head = try shape(headKey)
        var modelInput = input
        modelInput.channels = whitening[1]
        let spec = NetworkSpec(name: file.metadata["model"] ?? "airbench94", input: modelInput,
                               whitening: .init(kernelSize: whitening[2]), groups: groups,
                               head: .init(classes: head.first ?? 0, outputScale: outputScale))
        let network: Network
        do { network = try Network(spec: spec) } catch {
            throw ModelFileError.notAnAirbench94Model(file: name, reason: "\(error)")
        }
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
