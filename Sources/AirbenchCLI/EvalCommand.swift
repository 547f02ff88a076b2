import Airbench
import AirbenchData
import ArgumentParser
import Foundation

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "Evaluate a saved model of any airbench method on the CIFAR-10 test set.")

    @OptionGroup var runtime: RuntimeOptions
    @Option(help: ArgumentHelp("Model written by train --save-model (or a reference script's state_dict as safetensors).", valueName: "file.safetensors"))
    var model: String
    @Option(help: "TTA level: 0 none, 1 mirror, 2 mirror + translate.") var tta = 2

    func validate() throws {
        if !(0...2).contains(tta) { throw ValidationError("--tta must be 0, 1 or 2, got \(tta)") }
    }

    func run() throws {
        reportingErrors {
            runtime.startKernels()
            let network = try Network.load(from: URL(fileURLWithPath: model))
            network.convolutionAlgorithm = runtime.convolution
            let data = try runtime.loadData()
            let images = CifarLoader.normalizedImages(data.test)
            let start = ContinuousClock.now
            let accuracy = images.withUnsafeBufferPointer {
                network.evaluate(images: $0.baseAddress!, labels: data.test.labels, ttaLevel: tta)
            }
            let elapsed = ContinuousClock.now - start
            print(String(format: "test accuracy (TTA level %d): %.4f   [%@, %d images, widths %@, %.1f s]", tta, accuracy,
                         network.spec.name, data.test.count,
                         network.spec.groups.map { String($0.width) }.joined(separator: ","), elapsed.seconds))
        }
    }
}
