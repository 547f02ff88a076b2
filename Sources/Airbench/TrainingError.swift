/// Everything that can go wrong in the training layer (the method, the network, model files), as one error
/// whose message names what it is about: the hyperparameter and its range, the network, the file.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    /// The loss became NaN or infinite.
    case diverged(step: Int, loss: Double)
    /// A hyperparameter outside its range, an unknown or mistyped one, or a combination that cannot run.
    case invalidConfiguration(String)
    /// A network description the engine cannot build or run.
    case invalidNetwork(spec: String, message: String)
    /// A model file that is not a model of the family, or lacks a tensor, or holds one of the wrong shape.
    case invalidModelFile(file: String, message: String)

    public var description: String {
        switch self {
        case .diverged(let step, let loss):
            return "training diverged: loss \(loss) at step \(step) (try a lower --lr or check the data)"
        case .invalidConfiguration(let message): return "invalid configuration: \(message)"
        case .invalidNetwork(let spec, let message): return "network \(spec): \(message)"
        case .invalidModelFile(let file, let message): return "\(file): \(message)"
        }
    }

    /// A model file without the tensor `name`.
    static func missingTensor(file: String, name: String) -> TrainingError {
        .invalidModelFile(file: file, message: "tensor '\(name)' is missing")
    }

    /// A model file whose tensor `name` has another shape than the network's.
    static func wrongShape(file: String, name: String, expected: [Int], actual: [Int]) -> TrainingError {
        .invalidModelFile(file: file, message: "tensor '\(name)' has shape \(actual), expected \(expected)")
    }
}
