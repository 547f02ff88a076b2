import Airbench
import AirbenchData
import AirbenchKernels
import ArgumentParser
import Foundation

/// Where the data is and how the kernels run: shared by the subcommands that train or evaluate.
struct RuntimeOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "The data: a folder of the data set's files (or holding its official folder, e.g. cifar-10-batches-bin/), or its official .tar.gz archive (extracted once into the cache). Default: $AIRBENCH_DATA, else the cache folder (downloads the official files if empty).",
        valueName: "path"))
    var data: String?

    @OptionGroup var datasetOptions: DatasetOptions

    @OptionGroup var kernel: KernelOptions

    /// Finds and reads the data set (see `Dataset.load`).
    func loadData(_ selection: DatasetSelection) throws -> Dataset { try Dataset.load(selection, dataFlag: data) }
}

/// How the kernels run: threads, convolution algorithm, precision and instruction-set path. Shared by every
/// subcommand that trains, evaluates or measures.
struct KernelOptions: ParsableArguments {
    @Option(help: "Worker threads (default: all cores). Results do not depend on it.")
    var threads: Int?

    @Option(help: ArgumentHelp(
        "How the 3×3 convolutions compute: auto (each layer's forward, backward-data and backward-weights pass by its shape and precision: Winograd where it needs far fewer multiply-adds; in bf16 also the bf16 Winograds on the passes where their measured error is within the bound, README \"Convolution algorithms\"), direct (implicit GEMM), winograd (F(2×2,3×3)), winograd4x4 (F(4×4,3×3)) or winograd6x6 (F(6×6,3×3)), which equal direct up to rounding and run fp32; winograd-bf16 or winograd4x4-bf16, the same with bf16 products (needs AVX512_BF16). Default: auto.",
        valueName: "algorithm"))
    var convolution: ConvolutionAlgorithm = .auto

    @Option(help: ArgumentHelp(
        "Precision of the convolutions' operands: fp32, or bf16 (rounded operands, fp32 sums; needs AVX512_BF16). Default: the fastest this CPU has.",
        valueName: "fp32|bf16"))
    var precision: KernelPrecision?

    @Option(help: ArgumentHelp(
        "Instruction-set path: portable, avx2 or avx512 (default: the best this CPU has). fp32 gives the same bits on avx2 and avx512: use it to time an AVX2-only CPU on one with AVX-512.",
        valueName: "path"))
    var kernelPath: KernelPath?

    func validate() throws {
        if let threads, !(1...256).contains(threads) {
            throw ValidationError("--threads must be between 1 and 256, got \(threads)")
        }
        // bf16 on a CPU without it or off the avx512 path, and a path this CPU lacks, are errors, not a silent run
        // on another path.
        if precision == .bf16 && !KernelPrecision.bf16Supported {
            throw ValidationError("--precision bf16 needs a CPU with AVX-512 and AVX512_BF16; this one runs the \(KernelPath.detected) path in fp32 only")
        }
        if let kernelPath, kernelPath.rawValue > KernelPath.detected.rawValue {
            throw ValidationError("--kernel-path \(kernelPath.name): this CPU has only the \(KernelPath.detected.name) path")
        }
        if precision == .bf16, let kernelPath, kernelPath != .avx512 {
            throw ValidationError("--precision bf16 runs on the avx512 path only, not --kernel-path \(kernelPath.name)")
        }
        // The bf16 Winograds would run their plain-C reference elsewhere: slow, for tests only.
        if [.winogradBF16, .winograd4x4BF16].contains(convolution) {
            if !KernelPrecision.bf16Supported {
                throw ValidationError("--convolution \(convolution.rawValue) needs a CPU with AVX-512 and AVX512_BF16")
            }
            if let kernelPath, kernelPath != .avx512 {
                throw ValidationError("--convolution \(convolution.rawValue) runs on the avx512 path only, not --kernel-path \(kernelPath.name)")
            }
        }
    }

    /// Whether bf16 can run with these options: a CPU with AVX512_BF16, on the avx512 path (its own default there).
    var bf16Available: Bool { KernelPrecision.bf16Supported && (kernelPath ?? .avx512) == .avx512 }

    /// Starts the kernel threads and chooses the instruction-set path and the precision; returns the thread count.
    @discardableResult
    func start() -> Int {
        if let kernelPath { KernelPath.use(kernelPath) }
        KernelPrecision.use(precision ?? .fastest)  // bf16 is active only on the avx512 path: fp32 elsewhere
        return KernelThreads.use(threads ?? ProcessInfo.processInfo.activeProcessorCount)
    }
}

/// Which data set (paper Table 5) and which variant of it.
struct DatasetOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Data set: cifar10, cifar100, svhn or cinic10 (paper Table 5). Default: cifar10, or the Table 5 preset's, or the saved model's.",
        valueName: "name"))
    var dataset: DatasetName?

    @Option(help: ArgumentHelp("CIFAR-100 labels: fine (100 classes) or coarse (20 superclasses).", valueName: "fine|coarse"))
    var labels: CIFAR100Labels?

    @Flag(help: "SVHN: also train on the 531,131 images of extra_32x32.mat.")
    var svhnExtra = false

    @Flag(help: "CINIC-10: train on train/ and valid/ together (180,000 images).")
    var cinicValid = false

    /// The data set the command line asks for, or nil when it names none (no --dataset, --labels, --svhn-extra or
    /// --cinic-valid).
    func requested() throws -> DatasetSelection? {
        dataset == nil && labels == nil && !svhnExtra && !cinicValid ? nil : try selection()
    }

    /// The data set to use: `--dataset` with its variants, else `implied` (a Table 5 preset's or a saved model's),
    /// else CIFAR-10. A `--dataset` that contradicts `implied` is an error.
    func selection(implied: DatasetSelection? = nil, impliedBy source: String = "the preset") throws -> DatasetSelection {
        if let dataset, let implied, dataset != implied.name {
            throw CLIError("--dataset \(dataset.rawValue) contradicts \(source), which is for \(implied.name.rawValue)")
        }
        var selection = implied ?? DatasetSelection(dataset ?? .cifar10)
        if let labels { selection.labels = labels }
        if svhnExtra { selection.svhnExtra = true }
        if cinicValid { selection.cinicValid = true }
        try selection.validate()
        return selection
    }
}

/// Prints `message` to standard error and exits with status 1.
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data(("error: " + message + "\n").utf8))
    exit(1)
}

/// Runs `body`, turning any error into a clear message on standard error and exit status 1.
func reportingErrors<T>(_ body: () throws -> T) -> T {
    do { return try body() } catch let error as CustomStringConvertible {
        fail(error.description)
    } catch {
        fail("\(error)")
    }
}

extension ConvolutionAlgorithm: ExpressibleByArgument {}
extension DatasetName: ExpressibleByArgument {}
extension CIFAR100Labels: ExpressibleByArgument {}
extension KernelPrecision: ExpressibleByArgument {}
extension Activation: ExpressibleByArgument {}

extension KernelPath: ExpressibleByArgument {
    /// The name `--kernel-path` takes.
    var name: String {
        switch self {
        case .portable: "portable"
        case .avx2: "avx2"
        case .avx512: "avx512"
        }
    }

    public init?(argument: String) {
        guard let path = KernelPath.allCases.first(where: { $0.name == argument }) else { return nil }
        self = path
    }

    public static var allValueStrings: [String] { allCases.map(\.name) }
}

struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
