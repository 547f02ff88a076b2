import AirbenchData
import AirbenchFormats
import Foundation

/// The project version, written into logs and model files.
public enum AirbenchVersion {
    public static let current = "0.1.0"
}

extension Network {
    /// The state as safetensors: F32, PyTorch OIHW layout, keys of the reference script's state_dict (`0.weight`,
    /// `0.bias`, `2.conv1.weight`, `2.norm1.bias`, ..., `7.weight` for airbench94; `whiten.weight`,
    /// `layers.1.conv1.weight`, …, `head.weight` for airbench94_muon), so that
    /// `net.load_state_dict(safetensors.torch.load_file(path), strict=False)` loads it (only
    /// `num_batches_tracked` is absent). Metadata: `model` (the spec's name) and the group `widths`, plus what the
    /// caller adds (training records the method and the whole `spec` as JSON, which `load` reads back).
    public func safetensors(metadata: [String: String] = [:]) -> SafetensorsFile {
        var file = SafetensorsFile(metadata: metadata.merging([
            "format": "pt", "model": spec.name, "airbench_version": AirbenchVersion.current,
            "widths": spec.groups.map { String($0.width) }.joined(separator: ","),
        ]) { mine, _ in mine })
        for entry in state.layout.entries { file.setFloats(state.values(entry.name), shape: entry.shape, for: entry.name) }
        return file
    }

    /// Metadata that lets `load` rebuild this network exactly: the spec as JSON under `spec`.
    public var specMetadata: [String: String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return ["spec": String(decoding: (try? encoder.encode(spec)) ?? Data(), as: UTF8.self)]
    }

    /// Writes the model to `url` (temporary file, then rename).
    public func save(to url: URL, metadata: [String: String] = [:]) throws {
        try safetensors(metadata: metadata).write(to: url)
    }

    /// Reads a model written by `save` (or a PyTorch airbench state_dict saved as safetensors). With a `spec` in
    /// the metadata (every model `airbench train` saves) the network is exactly that one. Otherwise its shape
    /// comes from the tensors: `0.weight` (nn.Sequential keys) or `whiten.weight` (airbench94_muon's CifarNet)
    /// gives the whitening kernel and input channels, one ConvGroup per `conv1.weight` with as many convs as
    /// `convK.weight` keys, the classes from the head; the image size is `input` and the output scale
    /// `scalingFactor` (1/9, or 1/width for CifarNet). A residual cannot be seen in the tensors: 3-conv groups
    /// without a spec are read as airbench96's (paper version, GELU before the add).
    public static func load(from url: URL, input: NetworkSpec.Input = .cifar, scalingFactor: Double? = nil)
        throws -> Network {
        try load(file: try SafetensorsFile.read(from: url), name: url.path, input: input, scalingFactor: scalingFactor)
    }

    /// `load(from:)` for a file already read; `name` names it in errors.
    public static func load(file: SafetensorsFile, name: String, input: NetworkSpec.Input = .cifar,
                            scalingFactor: Double? = nil) throws -> Network {
        let spec: NetworkSpec
        if let json = file.metadata["spec"] {
            do { spec = try JSONDecoder().decode(NetworkSpec.self, from: Data(json.utf8)) } catch {
                throw TrainingError.invalidModelFile(file: name, message: "not a model of the airbench family: its metadata 'spec' does not parse: \(decodingReason(error))")
            }
        } else {
            spec = try inferSpec(file, name: name, input: input, scalingFactor: scalingFactor)
        }
        let network: Network
        do { network = try Network(spec: spec) } catch {
            throw TrainingError.invalidModelFile(file: name, message: "not a model of the airbench family: \(error)")
        }
        for entry in network.state.layout.entries {
            guard file.contains(entry.name) else { throw TrainingError.missingTensor(file: name, name: entry.name) }
            let actual = try file.shape(entry.name)
            guard actual == entry.shape else {
                throw TrainingError.wrongShape(file: name, name: entry.name, expected: entry.shape, actual: actual)
            }
            let values = try file.floats(entry.name)
            guard values.allSatisfy(\.isFinite) else {
                throw TrainingError.invalidModelFile(file: name, message: "not a model of the airbench family: '\(entry.name)' holds NaN or infinity")
            }
            network.state.set(entry.name, values)
        }
        return network
    }

    /// The network a state_dict without a `spec` describes (see `load`).
    static func inferSpec(_ file: SafetensorsFile, name: String, input: NetworkSpec.Input, scalingFactor: Double?) throws -> NetworkSpec {
        let naming: NetworkSpec.Naming = file.contains("whiten.weight") ? .cifarNet : .sequential
        var probe = NetworkSpec(name: "", input: input, groups: [], head: .init(classes: 2, scalingFactor: 1), naming: naming)
        func shape(_ key: String) throws -> [Int] {
            guard file.contains(key) else { throw TrainingError.missingTensor(file: name, name: key) }
            return try file.shape(key)
        }
        let whiteningKey = probe.whiteningModule + ".weight"
        let whitening = try shape(whiteningKey)
        guard whitening.count == 4 else {
            throw TrainingError.wrongShape(file: name, name: whiteningKey, expected: [24, 3, 2, 2], actual: whitening)
        }
        var groups = [NetworkSpec.ConvGroup]()
        while file.contains(probe.groupModule(groups.count) + ".conv1.weight") {
            let module = probe.groupModule(groups.count)
            var convs = 1
            while file.contains("\(module).conv\(convs + 1).weight") { convs += 1 }
            groups.append(NetworkSpec.ConvGroup(width: try shape(module + ".conv1.weight")[0], convs: convs,
                                                residual: convs == 3))
            probe.groups = groups
        }
        let head = try shape(probe.headModule + ".weight")
        var modelInput = input
        modelInput.channels = whitening[1]
        let scale = scalingFactor ?? (naming == .cifarNet ? 1 / Double(groups.last?.width ?? 1) : 1.0 / 9)
        return NetworkSpec(name: file.metadata["model"] ?? "airbench94", input: modelInput,
                           whiteningLayer: .init(kernelSize: whitening[2]), groups: groups,
                           head: .init(classes: head.first ?? 0, scalingFactor: scale), naming: naming)
    }
}

extension Dataset {
    /// What a saved model keeps of the data it was trained on: `dataset` (the selection as JSON: name, labels,
    /// variants) and `normalization` (`{"mean": [...], "std": [...]}`), so that `eval` and a PyTorch user feed it
    /// images normalised alike.
    public var metadata: [String: String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        func json(_ value: some Encodable) -> String { String(decoding: (try? encoder.encode(value)) ?? Data(), as: UTF8.self) }
        return ["dataset": json(selection), "normalization": json(normalization)]
    }

    /// The data set a model file records in its metadata (`metadata`), or nil for a file without one; `name`
    /// names the file in errors.
    ///
    /// - Throws: when the `dataset` entry does not parse.
    public static func recorded(inModel file: SafetensorsFile, name: String) throws -> DatasetSelection? {
        guard let json = file.metadata["dataset"] else { return nil }
        do { return try JSONDecoder().decode(DatasetSelection.self, from: Data(json.utf8)) } catch {
            throw TrainingError.invalidModelFile(file: name, message: "not a model of the airbench family: its metadata 'dataset' does not parse: \(decodingReason(error))")
        }
    }
}
