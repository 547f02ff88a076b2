import Airbench
import AirbenchData
import AirbenchKernels
import ArgumentParser
import Foundation

/// Where the data is and how many threads to use: shared by every subcommand.
struct RuntimeOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "CIFAR-10: a folder with the .bin files or cifar-10-batches-bin/, or the .tar.gz archive (extracted once into the cache). Default: $AIRBENCH_DATA, else the cache folder (downloads the official archive if empty).",
        valueName: "path"))
    var data: String?

    @Option(help: "Worker threads (default: all cores). Results do not depend on it.")
    var threads: Int?

    @Option(help: ArgumentHelp(
        "How the 3×3 convolutions compute: direct (implicit GEMM) or winograd (F(2×2,3×3), fewer multiply-adds, equal up to rounding).",
        valueName: "algorithm"))
    var convolution: ConvolutionAlgorithm = .direct

    @Option(help: ArgumentHelp(
        "Precision of the convolutions' operands: fp32, or bf16 (rounded operands, fp32 sums; needs AVX512_BF16). Default: the fastest this CPU has.",
        valueName: "fp32|bf16"))
    var precision: KernelPrecision?

    func validate() throws {
        if let threads, !(1...256).contains(threads) {
            throw ValidationError("--threads must be between 1 and 256, got \(threads)")
        }
        try validatePrecision(precision)
    }

    /// Starts the kernel threads and chooses the precision; returns the thread count.
    @discardableResult
    func startKernels() -> Int {
        KernelPrecision.use(precision ?? .fastest)
        return KernelThreads.use(threads ?? ProcessInfo.processInfo.activeProcessorCount)
    }

    func loadData() throws -> CIFAR10 { try CIFAR10.load(dataFlag: data) }
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

/// Writes `data` atomically (see `writeFileAtomically`), as a `CLIError` naming the file on failure.
func writeAtomically(_ data: Data, to url: URL) throws {
    do { try writeFileAtomically(data, to: url) } catch { throw CLIError("cannot write \(url.path): \(error)") }
}

extension ConvolutionAlgorithm: ExpressibleByArgument {}
extension KernelPrecision: ExpressibleByArgument {}

/// `--precision bf16` on a CPU without the bf16 path is an error, not a silent fp32 run.
func validatePrecision(_ precision: KernelPrecision?) throws {
    if precision == .bf16 && !KernelPrecision.bf16Supported {
        throw ValidationError("--precision bf16 needs a CPU with AVX-512 and AVX512_BF16; this one runs the \(KernelPath.detected) path in fp32 only")
    }
}

struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
