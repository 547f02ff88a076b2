import Airbench
import AirbenchData
import AirbenchKernels
import ArgumentParser
import Foundation

struct Train94Command: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train94",
        abstract: "Train airbench94 (paper Listing 4) and report per-epoch and TTA accuracy.",
        discussion: """
            Prints the paper's table (run, epoch, train_loss, train_acc, val_acc, tta_val_acc, time_seconds) and \
            the mean and standard deviation of the TTA accuracy over runs. Time follows the paper (Section 2): \
            from the first access to training data to the test predictions, per-epoch evaluation excluded, after \
            a short warm-up on synthetic data. Run r uses seed + r; the same seed gives bitwise identical results \
            for any thread count.
            """)

    @OptionGroup var runtime: RuntimeOptions

    @Option(help: "Number of training runs.") var runs = 1
    @Option(help: "Seed of the first run.") var seed: UInt64 = 0
    @Option(help: "Training epochs (fractional: the last epoch stops early).") var epochs = 9.9
    @Option(help: "Batch size.") var batchSize = 1024
    @Option(help: "Block widths, comma-separated.") var widths = "64,256,256"
    @Option(help: "Train on the first N training images only.") var trainLimit: Int?
    @Option(help: "TTA level of the final evaluation: 0 none, 1 mirror, 2 mirror + translate.") var tta = 2
    @Option(help: "Learning rate per 1,024 examples (decoupled).") var lr = 11.5
    @Option(help: "Flip augmentation: alternating, random or none.") var flip = "alternating"
    @Option(help: "Random translation in pixels.") var translate = 2
    @Option(help: "Cutout square size in pixels (0 = off).") var cutout = 0
    @Flag(help: "Keep the training set in order (no random reshuffling each epoch).") var noShuffle = false
    @Flag(help: "Skip the warm-up run.") var noWarmup = false
    @Flag(help: "Skip the (untimed) per-epoch test evaluation.") var noEpochEval = false
    @Option(help: ArgumentHelp(
        "Seconds between progress lines when standard output is a file or a pipe (a terminal gets one redrawn status line).",
        valueName: "seconds"))
    var progressInterval = 30.0
    @Option(help: ArgumentHelp("Save the last run's model (safetensors, PyTorch state_dict keys).", valueName: "file.safetensors"))
    var saveModel: String?
    @Option(help: ArgumentHelp("Write the configuration and results as JSON.", valueName: "file.json"))
    var log: String?

    func validate() throws {
        if runs < 1 { throw ValidationError("--runs must be at least 1, got \(runs)") }
        if !(epochs > 0 && epochs <= 1000) { throw ValidationError("--epochs must be in (0, 1000], got \(epochs)") }
        if batchSize < 2 { throw ValidationError("--batch-size must be at least 2, got \(batchSize)") }
        if !(0...2).contains(tta) { throw ValidationError("--tta must be 0, 1 or 2, got \(tta)") }
        if let trainLimit, trainLimit < batchSize {
            throw ValidationError("--train-limit \(trainLimit) is smaller than --batch-size \(batchSize)")
        }
        if FlipMode(rawValue: flip) == nil { throw ValidationError("--flip must be alternating, random or none, got '\(flip)'") }
        if !(0...8).contains(translate) { throw ValidationError("--translate must be between 0 and 8, got \(translate)") }
        if !(0...32).contains(cutout) { throw ValidationError("--cutout must be between 0 and 32, got \(cutout)") }
        if !(lr > 0 && lr.isFinite) { throw ValidationError("--lr must be positive, got \(lr)") }
        if !(progressInterval >= 0) { throw ValidationError("--progress-interval must be at least 0, got \(progressInterval)") }
        _ = try parsedWidths()
        for path in [saveModel, log].compactMap({ $0 }) {
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
                throw ValidationError("cannot write \(path): folder \(folder) does not exist")
            }
        }
    }

    func parsedWidths() throws -> Widths {
        let parts = widths.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 3, let a = parts[0], let b = parts[1], let c = parts[2], a > 0, b > 0, c > 0 else {
            throw ValidationError("--widths must be three positive integers like 64,256,256, got '\(widths)'")
        }
        return Widths(block1: a, block2: b, block3: c)
    }

    func hyperparameters() throws -> Hyperparameters94 {
        var h = Hyperparameters94()
        h.trainEpochs = epochs
        h.batchSize = batchSize
        h.widths = try parsedWidths()
        h.ttaLevel = tta
        h.learningRate = lr
        h.flip = FlipMode(rawValue: flip)!
        h.translate = translate
        h.cutout = cutout
        h.shuffle = !noShuffle
        return h
    }

    func run() throws {
        reportingErrors {
            let threads = runtime.startKernels()
            let h = try hyperparameters()
            var data = try runtime.loadData()
            if let trainLimit {
                guard trainLimit <= data.train.count else {
                    throw CLIError("--train-limit \(trainLimit) exceeds the \(data.train.count) training images")
                }
                data.train = data.train.subset(Array(0..<trainLimit))
            }
            print("airbench94: \(kernelConfiguration), \(runtime.convolution) 3×3 convolutions, \(threads) thread(s), widths \(h.widths.array), batch \(h.batchSize), "
                  + "\(h.trainEpochs) epochs, \(data.train.count) training images")
            fflush(nil)
            if !noWarmup { try warmup94(hyperparameters: h, convolution: runtime.convolution) }
            let table = EpochTable(), status = ProgressLine(interval: progressInterval)
            table.printHeader()
            var results = [RunResult]()
            var network: Network?
            for run in 0..<runs {
                let (trained, result) = try train94(data: data, hyperparameters: h, seed: seed + UInt64(run),
                                                    convolution: runtime.convolution,
                                                    evaluateEachEpoch: !noEpochEval,
                                                    stepDone: { status.update(run: run, $0) }) { record in
                    status.clear()
                    table.printRow(run: run, record)
                }
                results.append(result)
                network = trained
                // Rewritten after every run, so an interrupted multi-run job keeps the runs it finished.
                if let log { try writeLog(to: log, results: results, threads: threads, trainImages: data.train.count, hyperparameters: h) }
            }
            let (mean, std) = meanAndStd(results.map(\.ttaValidationAccuracy))
            print(String(format: "Mean: %.4f    Std: %.4f", mean, std))
            if let saveModel, let network {
                try network.save(to: URL(fileURLWithPath: saveModel),
                                 metadata: ["seed": String(seed + UInt64(runs - 1))])
                print("saved model to \(saveModel)")
            }
            if let log { print("wrote log to \(log)") }
        }
    }
}

extension Train94Command {
    /// Writes the `--log` JSON for the runs finished so far (atomically: temporary file, then rename).
    func writeLog(to path: String, results: [RunResult], threads: Int, trainImages: Int, hyperparameters h: Hyperparameters94) throws {
        let (mean, std) = meanAndStd(results.map(\.ttaValidationAccuracy))
        let entry = RunLog(version: AirbenchVersion.current, command: CommandLine.arguments.joined(separator: " "),
                           kernelPath: KernelPath.active.description, precision: KernelPrecision.active,
                           convolution: runtime.convolution, threads: threads,
                           runs: results.count, seed: seed,
                           trainImages: trainImages, hyperparameters: h, results: results,
                           meanTTAValidationAccuracy: mean, stdTTAValidationAccuracy: std,
                           meanTimeSeconds: results.map(\.timeSeconds).reduce(0, +) / Double(results.count))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try writeAtomically(try encoder.encode(entry), to: URL(fileURLWithPath: path))
    }
}

/// The JSON written by `--log`.
struct RunLog: Codable {
    var version: String
    var command: String
    /// The instruction-set path and the convolutions' precision: with the algorithm, what changes the bits.
    var kernelPath: String
    var precision: KernelPrecision
    var convolution: ConvolutionAlgorithm
    var threads: Int
    var runs: Int
    var seed: UInt64
    var trainImages: Int
    var hyperparameters: Hyperparameters94
    var results: [RunResult]
    var meanTTAValidationAccuracy: Double
    var stdTTAValidationAccuracy: Double
    var meanTimeSeconds: Double
}

/// Mean and sample standard deviation (n − 1; 0 for one value), as `torch.std`.
func meanAndStd(_ values: [Double]) -> (Double, Double) {
    let mean = values.reduce(0, +) / Double(values.count)
    guard values.count > 1 else { return (mean, 0) }
    let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1)
    return (mean, variance.squareRoot())
}

/// The paper's per-epoch table (Listing 4 `print_training_details`).
final class EpochTable {
    let columns = ["run", "epoch", "train_loss", "train_acc", "val_acc", "tta_val_acc", "time_seconds"]

    func line(_ cells: [String]) -> String {
        zip(cells, columns).map { "| " + String(repeating: " ", count: max(0, $1.count - $0.count)) + $0 + " " }
            .joined() + "|"
    }

    func printHeader() {
        let header = line(columns)
        print(String(repeating: "-", count: header.count))
        print(header)
        print(String(repeating: "-", count: header.count))
        fflush(nil)
    }

    func printRow(run: Int, _ r: EpochRecord) {
        func number(_ x: Double?) -> String { x.map { String(format: "%.4f", $0) } ?? "" }
        let final = r.epoch == nil
        let row = line([final || r.epoch == 0 ? "\(run)" : "", r.epoch.map(String.init) ?? "eval", number(r.trainLoss),
                        number(r.trainAccuracy), number(r.validationAccuracy), number(r.ttaValidationAccuracy),
                        number(r.timeSeconds)])
        print(row)
        if final { print(String(repeating: "-", count: row.count)) }
        fflush(nil)
    }
}
