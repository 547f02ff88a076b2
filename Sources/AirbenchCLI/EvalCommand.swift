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
            statistics, and SVHN's test-time augmentation leaves out the mirrored views, as in training. A model \
            of a method with selective TTA (airbench94_hiverge: the model records its `tta_select`) reports it \
            beside the full TTA; --tta-select overrides it.
            """)

    @OptionGroup var runtime: RuntimeOptions
    @Option(help: ArgumentHelp("Model written by train --save-model (or a reference script's state_dict as safetensors).", valueName: "file.safetensors"))
    var model: String
    @Option(help: "TTA level: 0 none, 1 mirror, 2 mirror + translate.") var tta = 2
    @Option(help: ArgumentHelp(
        "Selective TTA: the fraction of test images, the least confident, that get the level's views (equal weights); 1 = all, weighted. Default: the model's recorded tta_select, else 1.",
        valueName: "fraction"))
    var ttaSelect: Double?

    func validate() throws {
        if !(0...2).contains(tta) { throw ValidationError("--tta must be 0, 1 or 2, got \(tta)") }
        if let ttaSelect, !(ttaSelect > 0 && ttaSelect <= 1) {
            throw ValidationError("--tta-select must be in (0, 1], got \(ttaSelect)")
        }
    }

    /// The selective-TTA fraction: the option, else the model's record (checked like the option), else 1.
    func selectFraction(_ file: SafetensorsFile) throws -> Double {
        if let ttaSelect { return ttaSelect }
        guard let recorded = file.metadata["tta_select"] else { return 1 }
        guard let fraction = Double(recorded), fraction > 0, fraction <= 1 else {
            throw CLIError("\(model): its metadata tta_select '\(recorded)' is not a fraction in (0, 1]")
        }
        return fraction
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
            let fraction = try selectFraction(file)
            let data = try runtime.loadData(selection)
            let images = CifarLoader.normalizedImages(data.test, normalization: data.normalization)
            let selecting = TTA.selectedCount(fraction: fraction, testImages: data.test.count)
            // Each evaluation timed on its own: the selective one (the plain pass, then the views of the least confident)
            // as a run times it, and the full TTA as the paper's methods do.
            let clock = ContinuousClock()
            var plain = [Float](), selective: SelectiveTTA?
            let selectiveTime = selecting.map { count in
                clock.measure {
                    plain = network.inferLevels([0], images, mirror: data.mirrorable)[0]
                    selective = network.selectiveTTA(plainLogits: plain, images: images, selecting: count, level: tta, mirror: data.mirrorable)
                }
            }
            var full = [Float]()
            let fullTime = clock.measure { full = network.inferLevels([tta], images, mirror: data.mirrorable)[0] }
            let accuracy = { network.accuracy(logits: $0, labels: data.test.labels) }
            print("\(kernelConfiguration); 3×3 convolutions (--convolution \(runtime.kernel.convolution.rawValue)): \(network.convolutionPlan)")
            let details = String(format: "[%@, %@, %d images, widths %@]", network.spec.name, selection.description,
                                 data.test.count, network.spec.groups.map { String($0.width) }.joined(separator: ","))
            if let selective, let selectiveTime {
                print(String(format: "test accuracy (selective TTA: the %d least confident of %d get the level-%d views): %.4f in %.2f s; "
                             + "full TTA level %d: %.4f in %.2f s (selective/full time %.2f); no TTA: %.4f   %@",
                             selective.selected.count, data.test.count, tta, accuracy(selective.logits), selectiveTime.seconds,
                             tta, accuracy(full), fullTime.seconds, selectiveTime.seconds / fullTime.seconds, accuracy(plain), details))
            } else {
                print(String(format: "test accuracy (TTA level %d): %.4f in %.2f s   %@", tta, accuracy(full), fullTime.seconds, details))
            }
        }
    }
}
