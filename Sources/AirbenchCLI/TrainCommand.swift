import Airbench
import AirbenchData
import AirbenchKernels
import ArgumentParser
import Foundation

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a method of the airbench family and report per-epoch and TTA accuracy.",
        discussion: """
            METHOD is one of \(Method.all.map(\.name).joined(separator: ", ")), or a preset of the paper's Table 5 \
            (airbench96 on another data set: \(Method.table5.map(\.name).joined(separator: ", "))); `airbench \
            methods` lists them with their hyperparameters. --dataset trains any method on CIFAR-10, CIFAR-100, \
            SVHN or CINIC-10 without retuning (as Table 5 does: only SVHN is not flipped). Every hyperparameter can be overridden: the common ones and the paper's \
            ablations by their own options, any other with --set name=value. Prints the paper's table (run, \
            epoch, train_loss, train_acc, val_acc, tta_val_acc, time_seconds) and the mean and standard deviation \
            of the TTA accuracy over runs. Time follows the paper (Section 2): from the first access to training \
            data to the test predictions, per-epoch evaluation excluded, after a short warm-up on synthetic data. \
            Run r uses seed + r; the same seed gives bitwise identical results for any thread count.
            """)

    @Argument(help: ArgumentHelp("The method.", valueName: "method")) var method: String
    @OptionGroup var runtime: RuntimeOptions
    @OptionGroup var options: TrainingOptions

    func validate() throws {
        guard Method.named(method) != nil else { throw ValidationError(unknownMethod(method)) }
    }

    func run() throws { runTraining(Method.named(method)!, runtime: runtime, options: options) }
}

/// The error for a name that is neither a method nor a Table 5 preset.
func unknownMethod(_ name: String) -> String {
    "unknown method '\(name)'; choose one of \(Method.all.map(\.name).joined(separator: ", ")) "
        + "or a Table 5 preset (\(Method.table5.map(\.name).joined(separator: ", ")))"
}

struct Train94Command: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train94",
        abstract: "Train airbench94 (paper Listing 4): the same as `airbench train airbench94`.")

    @OptionGroup var runtime: RuntimeOptions
    @OptionGroup var options: TrainingOptions

    func run() throws { runTraining(.airbench94, runtime: runtime, options: options) }
}

/// Trains `options.runs` runs of `method` with the overrides applied, printing the table, the progress and the
/// summary, and writing the log and the model.
func runTraining(_ method: Method, runtime: RuntimeOptions, options: TrainingOptions) {
    reportingErrors {
        let threads = runtime.kernel.start()
        let selection = try runtime.datasetOptions.selection(implied: method.dataset, impliedBy: "the preset \(method.name)")
        let h = try options.hyperparameters(method: method, dataset: selection)
        var data = try runtime.loadData(selection)
        // Described as read, before the limit: the counts it shows are the files', to compare with the official ones.
        let dataSummary = data.summary
        if let trainLimit = options.trainLimit {
            guard trainLimit <= data.train.count else {
                throw CLIError("--train-limit \(trainLimit) exceeds the \(data.train.count) training images")
            }
            data.train = data.train.subset(Array(0..<trainLimit))
        }
        let plans = try h.convolutionPlans(classes: data.classCount, algorithm: runtime.kernel.convolution)
        print("\(h.method): \(kernelConfiguration), arithmetic revision \(ArithmeticRevision.current), \(threads) thread(s), "
              + "widths \(h.widths.array), batch \(h.batchSize), \(h.trainEpochs) epochs, flip \(h.flip.rawValue), "
              + "\(data.train.count) training images")
        print("data: \(dataSummary)")
        print("3×3 convolutions (--convolution \(runtime.kernel.convolution.rawValue)): \(plans.network)"
              + (plans.proxy.map { "; proxy: \($0)" } ?? ""))
        fflush(nil)
        if !options.noWarmup { try warmup(hyperparameters: h, convolution: runtime.kernel.convolution) }
        let table = EpochTable(), status = ProgressLine(interval: options.progressInterval)
        table.printHeader()
        var results = [RunResult]()
        var network: Network?
        for run in 0..<options.runs {
            let (trained, result) = try train(data: data, hyperparameters: h, seed: options.seed + UInt64(run),
                                              convolution: runtime.kernel.convolution,
                                              evaluateEachEpoch: !options.noEpochEval,
                                              stepDone: { status.update(run: run, $0) }) { record in
                status.clear()
                table.printRow(run: run, record)
            }
            results.append(result)
            network = trained
            // Rewritten after every run, so an interrupted multi-run job keeps the runs it finished.
            if let log = options.log {
                try writeLog(to: log, results: results, threads: threads, data: data, plans: plans,
                             hyperparameters: h, runtime: runtime, seed: options.seed)
            }
        }
        let (mean, std) = meanAndStd(results.map(\.ttaValidationAccuracy))
        print(String(format: "Mean: %.4f    Std: %.4f", mean, std))
        if let selected = RunPlan(h, trainImages: data.train.count).ttaSelected(testImages: data.test.count) {
            let (fullMean, fullStd) = meanAndStd(results.compactMap(\.fullTTAValidationAccuracy))
            print(String(format: "tta_val_acc is selective TTA: the %d least confident of %d test images get the level-%d views (equal weights). "
                         + "Full TTA (every image, weighted views): Mean: %.4f    Std: %.4f", selected, data.test.count, h.ttaLevel,
                         fullMean, fullStd))
        }
        if let saveModel = options.saveModel, let network {
            // Selective TTA is recorded for `eval` when the run has it (absent: every image gets the views).
            let selective = h.ttaSelect < 1 ? ["tta_select": String(h.ttaSelect)] : [:]
            try network.save(to: URL(fileURLWithPath: saveModel),
                             metadata: network.specMetadata.merging(data.metadata) { $1 }.merging([
                                 "method": h.method, "seed": String(options.seed + UInt64(options.runs - 1)),
                             ]) { $1 }.merging(selective) { $1 })
            print("saved model to \(saveModel)")
        }
        if let log = options.log { print("wrote log to \(log)") }
    }
}

/// Writes the `--log` JSON for the runs finished so far (atomically: temporary file, then rename).
func writeLog(to path: String, results: [RunResult], threads: Int, data: Dataset,
              plans: (network: ConvolutionPlan, proxy: ConvolutionPlan?), hyperparameters h: Hyperparameters,
              runtime: RuntimeOptions, seed: UInt64) throws {
    let (mean, std) = meanAndStd(results.map(\.ttaValidationAccuracy))
    let entry = RunLog(version: AirbenchVersion.current, arithmeticRevision: ArithmeticRevision.current,
                       command: CommandLine.arguments.joined(separator: " "),
                       method: h.method, kernelPath: KernelPath.active.description, precision: KernelPrecision.active,
                       convolution: runtime.kernel.convolution, cpu: CPUModel.current, convolutionPlan: plans.network,
                       proxyConvolutionPlan: plans.proxy, threads: threads,
                       runs: results.count, seed: seed,
                       dataset: data.selection, normalization: data.normalization,
                       trainingSplitStatistics: data.trainingSplitStatistics, mirroredViews: data.mirrorable,
                       trainImages: data.train.count, testImages: data.test.count, hyperparameters: h, results: results,
                       meanTTAValidationAccuracy: mean, stdTTAValidationAccuracy: std,
                       meanTimeSeconds: results.map(\.timeSeconds).reduce(0, +) / Double(results.count))
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try writeFileAtomically(try encoder.encode(entry), to: URL(fileURLWithPath: path))
}

/// The JSON written by `--log`.
struct RunLog: Codable {
    var version: String
    /// With the path, the precision and the plan, what decides the bits (`ArithmeticRevision`).
    var arithmeticRevision: Int
    var command: String
    var method: String
    /// The instruction-set path and the convolutions' precision: with the algorithm, what changes the bits.
    var kernelPath: String
    var precision: KernelPrecision
    var convolution: ConvolutionAlgorithm
    /// `CPUModel.current`: what the run's times were measured on (the bits do not depend on it).
    var cpu: String
    /// The algorithm of each layer's three passes (what `convolution` resolved to).
    var convolutionPlan: ConvolutionPlan
    var proxyConvolutionPlan: ConvolutionPlan?
    var threads: Int
    var runs: Int
    var seed: UInt64
    /// The data set, and what of it changes the bits: the normalisation and whether TTA mirrors.
    var dataset: DatasetSelection
    var normalization: Normalization
    var trainingSplitStatistics: Normalization
    var mirroredViews: Bool
    var trainImages: Int
    var testImages: Int
    /// Every resolved hyperparameter of the run.
    var hyperparameters: Hyperparameters
    var results: [RunResult]
    var meanTTAValidationAccuracy: Double
    var stdTTAValidationAccuracy: Double
    var meanTimeSeconds: Double
}
