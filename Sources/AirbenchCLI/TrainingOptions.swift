import Airbench
import AirbenchData
import AirbenchKernels
import ArgumentParser
import Foundation

/// The options of `train` and `train94`: how many runs and what to write, and overrides of the method's
/// hyperparameters (each left out keeps the preset's value; `--set` reaches every field).
struct TrainingOptions: ParsableArguments {
    @Option(help: "Number of training runs.") var runs = 1
    @Option(help: "Seed of the first run.") var seed: UInt64 = 0
    @Option(help: "Training epochs (fractional: the last epoch stops early).") var epochs: Double?
    @Option(help: "Batch size.") var batchSize: Int?
    @Option(help: "Block widths, comma-separated (e.g. 64,256,256).") var widths: String?
    @Option(help: "Train on the first N training images only.") var trainLimit: Int?
    @Option(help: "TTA level of the final evaluation: 0 none, 1 mirror, 2 mirror + translate.") var tta: Int?
    @Option(help: ArgumentHelp(
        "Selective TTA (hiverge): the fraction of test images, the least confident, that get the TTA level's views (equal weights); 1 = all, weighted (the paper's TTA).",
        valueName: "fraction"))
    var ttaSelect: Double?
    @Option(help: "Learning rate per 1,024 examples (decoupled).") var lr: Double?
    @Option(help: "Weight decay per 1,024 examples (decoupled).") var weightDecay: Double?
    @Option(help: "Learning-rate multiplier of the BatchNorm biases (the paper's scalebias; 1 turns it off).")
    var biasScaler: Double?
    @Option(help: "Flip augmentation: alternating, random or none.") var flip: String?
    @Option(help: "Random translation in pixels.") var translate: Int?
    @Option(help: "Cutout square size in pixels (0 = off).") var cutout: Int?
    @Option(help: "Brightness jitter (hiverge): each image each epoch is shifted by b ~ U(±X) in normalised units (0 = off).")
    var brightness: Double?
    @Option(help: "Contrast jitter (hiverge): each image each epoch is scaled by k ~ U(1 ± X) about the mean colour, after the shift (0 = off, below 1).")
    var contrast: Double?
    @Option(help: "Activation inside the ConvGroups: gelu or silu (hiverge). The one after the whitening layer stays GELU.")
    var activation: Activation?
    @Option(help: "Order of the training images each epoch: reshuffle, replacement (with replacement), fixed (one permutation kept) or sequential.")
    var order: String?
    @Flag(help: "Keep the training set in stored order (the same as --order sequential).") var noShuffle = false
    @Option(help: "Epochs the whitening bias trains before it freezes ('never': not frozen).") var whitenBiasEpochs: String?
    @Flag(help: "Ablation: no patch whitening (the first conv trains like any other).") var noWhitening = false
    @Flag(help: "Ablation: no identity (dirac) initialisation of the convolutions.") var noDirac = false
    @Flag(help: "Ablation: no Lookahead.") var noLookahead = false
    @Option(help: ArgumentHelp(
        "Set any hyperparameter by its name in the log's 'hyperparameters' (JSON value), e.g. --set momentum=0.9 --set proxy.keep=256. Repeatable.",
        valueName: "name=value"))
    var set: [String] = []
    @Flag(help: "Skip the warm-up run.") var noWarmup = false
    @Flag(help: "Skip the (untimed) per-epoch test evaluation.") var noEpochEval = false
    @Option(help: ArgumentHelp(
        "Seconds between progress lines when standard output is a file or a pipe (a terminal gets one redrawn status line).",
        valueName: "seconds"))
    var progressInterval = 30.0
    @Option(help: ArgumentHelp("Save the last run's model (safetensors, the reference script's state_dict keys).",
                               valueName: "file.safetensors"))
    var saveModel: String?
    @Option(help: ArgumentHelp("Write the configuration and results as JSON.", valueName: "file.json"))
    var log: String?

    func validate() throws {
        if runs < 1 { throw ValidationError("--runs must be at least 1, got \(runs)") }
        // Values are checked once, on the resolved hyperparameters (`checked`); here only what cannot be read.
        if let flip, FlipMode(rawValue: flip) == nil { throw ValidationError("--flip must be alternating, random or none, got '\(flip)'") }
        if let order, DataOrder(rawValue: order) == nil {
            throw ValidationError("--order must be reshuffle, replacement, fixed or sequential, got '\(order)'")
        }
        if let whitenBiasEpochs, whitenBiasEpochs != "never", Double(whitenBiasEpochs) == nil {
            throw ValidationError("--whiten-bias-epochs must be a number of epochs or 'never', got '\(whitenBiasEpochs)'")
        }
        if !(progressInterval >= 0) { throw ValidationError("--progress-interval must be at least 0, got \(progressInterval)") }
        if let widths { _ = try Self.parseWidths(widths) }
        for (flag, path) in [("--save-model", saveModel), ("--log", log)] {
            if let path { try Self.checkWritable(path, flag: flag) }
        }
    }

    /// Refuses, before any training, a file that could not be written after it: the path is a folder, its folder
    /// is missing, or nothing can be created there (a read-only or pseudo file system: a trial file is created and
    /// removed, as permissions alone do not say).
    static func checkWritable(_ path: String, flag: String) throws {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder), isFolder.boolValue {
            throw ValidationError("\(flag) \(path) is a folder: name the file to write")
        }
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
            throw ValidationError("\(flag) \(path): folder \(folder) does not exist")
        }
        let trial = URL(fileURLWithPath: folder).appendingPathComponent(".airbench-write-trial-\(UUID().uuidString)").path
        guard FileManager.default.createFile(atPath: trial, contents: nil) else {
            throw ValidationError("\(flag) \(path): cannot create a file in \(folder)")
        }
        try? FileManager.default.removeItem(atPath: trial)
    }

    static func parseWidths(_ text: String, flag: String = "--widths") throws -> Widths {
        let parts = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 3, let a = parts[0], let b = parts[1], let c = parts[2], a > 0, b > 0, c > 0 else {
            throw ValidationError("\(flag) must be three positive integers like 64,256,256, got '\(text)'")
        }
        return Widths(block1: a, block2: b, block3: c)
    }

    /// The method's hyperparameters as it runs on `dataset` (paper Table 5: no flipping for SVHN), with the
    /// overrides applied (`--set` last, so it wins).
    func hyperparameters(method: Method, dataset: DatasetSelection) throws -> Hyperparameters {
        var h = method.hyperparameters.adapted(to: dataset)
        if let epochs { h.trainEpochs = epochs }
        if let batchSize { h.batchSize = batchSize }
        if let widths { h.widths = try Self.parseWidths(widths) }
        if let tta { h.ttaLevel = tta }
        if let ttaSelect { h.ttaSelect = ttaSelect }
        if let lr { h.learningRate = lr }
        if let weightDecay { h.weightDecay = weightDecay }
        if let biasScaler { h.biasScaler = biasScaler }
        if let flip { h.flip = FlipMode(rawValue: flip)! }
        if let translate { h.translate = translate }
        if let cutout { h.cutout = cutout }
        if let brightness { h.brightnessJitter = brightness }
        if let contrast { h.contrastJitter = contrast }
        if let activation { h.groupActivation = activation }
        if noShuffle { h.order = .sequential }
        if let order { h.order = DataOrder(rawValue: order)! }
        if let whitenBiasEpochs { h.whitenBiasEpochs = whitenBiasEpochs == "never" ? nil : Double(whitenBiasEpochs)! }
        if noWhitening { h.whitening = false }
        if noDirac { h.diracInit = false }
        if noLookahead { h.lookahead = false }
        for assignment in set { h = try Self.apply(assignment, to: h) }
        return try checked(h, classes: dataset.classCount)
    }

    /// `h` if every value can run (`Hyperparameters.validate`, the check sweeps make too), else an error naming
    /// the key, the value, the allowed range and the option that set it.
    func checked(_ h: Hyperparameters, classes: Int) throws -> Hyperparameters {
        guard let problem = h.problems().first else {
            do { try h.validate(classes: classes) } catch let TrainingError.invalidConfiguration(message) {
                throw CLIError("invalid hyperparameter: \(message)")
            }
            return h
        }
        let options: [String: String?] = [
            "trainEpochs": epochs.map { "--epochs \($0)" }, "batchSize": batchSize.map { "--batch-size \($0)" },
            "ttaLevel": tta.map { "--tta \($0)" }, "learningRate": lr.map { "--lr \($0)" },
            "weightDecay": weightDecay.map { "--weight-decay \($0)" }, "biasScaler": biasScaler.map { "--bias-scaler \($0)" },
            "translate": translate.map { "--translate \($0)" }, "cutout": cutout.map { "--cutout \($0)" },
            "ttaSelect": ttaSelect.map { "--tta-select \($0)" }, "brightnessJitter": brightness.map { "--brightness \($0)" },
            "contrastJitter": contrast.map { "--contrast \($0)" },
            "whitenBiasEpochs": whitenBiasEpochs.map { "--whiten-bias-epochs \($0)" },
        ].merging(["widths.block1", "widths.block2", "widths.block3"].map { ($0, widths.map { "--widths \($0)" }) }) { $1 }
        // --set is applied last, so an assignment of the key (or of the object holding it) is what set it.
        let root = String(problem.key.split(separator: ".").first ?? "")
        let source = set.last { $0.hasPrefix(problem.key + "=") || $0.hasPrefix(root + "=") }.map { "--set \($0)" }
            ?? options[problem.key] ?? nil
        throw CLIError("invalid hyperparameter: \(problem)" + (source.map { " (from \($0))" } ?? ""))
    }

    /// `name=value`: the value is read as JSON (a bare word that is not JSON, like `muon`, as a string; `inf` and
    /// `nan` as numbers).
    static func apply(_ assignment: String, to h: Hyperparameters) throws -> Hyperparameters {
        guard let equals = assignment.firstIndex(of: "="), equals != assignment.startIndex else {
            throw ValidationError("--set takes name=value, got '\(assignment)'")
        }
        let name = String(assignment[..<equals]), text = String(assignment[assignment.index(after: equals)...])
        // A number JSON cannot write (inf, nan) is still a number, for the range check to name.
        let value: Any
        if let json = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed) {
            value = json
        } else {
            value = Double(text).map { $0 as Any } ?? text
        }
        do { return try h.setting(name, to: value) } catch {
            throw ValidationError("--set \(assignment): \(error)")
        }
    }
}
