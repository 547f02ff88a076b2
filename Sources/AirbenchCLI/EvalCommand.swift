import Airbench
import AirbenchData
import AirbenchKernels
import ArgumentParser
import Foundation

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a saved model of any airbench method on the test set of its data set.",
        discussion: """
            The data set is the one the model file records (models saved by `airbench train`), else --dataset, \
            else CIFAR-10; the model's class count must match it. Images are normalised with that data set's \
            statistics, and SVHN's test-time augmentation leaves out the mirrored views, as in training.
            """)

    @OptionGroup var runtime: RuntimeOptions
    @Option(help: ArgumentHelp("Model written by train --save-model (or a reference script's state_dict as safetensors).", valueName: "file.safetensors"))
    var model: String
    @Option(help: "TTA level: 0 none, 1 mirror, 2 mirror + translate.") var tta = 2

    func validate() throws {
        if !(0...2).contains(tta) { throw ValidationError("--tta must be 0, 1 or 2, got \(tta)") }
    }

    func run() throws {
        reportingErrors {
            runtime.kernel.start()
            let url = URL(fileURLWithPath: model)
            let file = try SafetensorsFile.read(from: url)  // read once: the network and the data set it records
            let network = try Network.load(file: file, name: url.path)
            network.convolutionAlgorithm = runtime.kernel.convolution
            let selection = try runtime.datasetOptions.selection(implied: try Dataset.recorded(inModel: file, name: url.path),
                                                                 impliedBy: "the model \(model)")
            guard network.classes == selection.classCount else {
                throw CLIError("\(model) has \(network.classes) outputs, but \(selection) has \(selection.classCount) classes")
            }
            let data = try runtime.loadData(selection)
            let images = CifarLoader.normalizedImages(data.test, normalization: data.normalization)
            let start = ContinuousClock.now
            let accuracy = images.withUnsafeBufferPointer {
                network.evaluate(images: $0.baseAddress!, labels: data.test.labels, ttaLevel: tta, mirror: data.mirrorable)
            }
            let elapsed = ContinuousClock.now - start
            print("\(kernelConfiguration); 3×3 convolutions (--convolution \(runtime.kernel.convolution)): \(network.convolutionPlan)")
            print(String(format: "test accuracy (TTA level %d): %.4f   [%@, %@, %d images, widths %@, %.1f s]", tta, accuracy,
                         network.spec.name, selection.description, data.test.count,
                         network.spec.groups.map { String($0.width) }.joined(separator: ","), elapsed.seconds))
        }
    }
}
