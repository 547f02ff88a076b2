import Airbench
import AirbenchData
import AirbenchKernels
import Foundation

extension BenchCommand {
    /// `bench --errors`: a short training run (the method's schedule compressed into `--steps` steps, seed 0), then
    /// one training step on `--batch-size` images whose convolution operands are measured by
    /// `ConvolutionAccuracy.measure`.
    func measureErrors(hyperparameters: Hyperparameters, dataset selection: DatasetSelection) throws -> ErrorReport {
        var h = hyperparameters
        var data: Dataset
        if let path = self.data {
            data = try Dataset.load(selection, dataFlag: path, allowDownload: false)
        } else {
            guard selection.name == .cifar10 else { throw CLIError("--errors on \(selection.name.rawValue) needs --data") }
            data = Dataset(cifar10: CIFAR10(train: .synthetic(count: max(h.whiteningImages, h.batchSize), seed: 1),
                                            test: .synthetic(count: 100, seed: 2)))
        }
        data.test = data.test.subset(Array(0..<min(100, data.test.count)))  // the run's final evaluation only
        let steps = self.steps ?? 50, batch = batchSize ?? 16
        // Epochs that RunPlan rounds up to exactly `steps` steps.
        h.trainEpochs = (Double(steps) - 0.5) / Double(RunPlan(h, trainImages: data.train.count).stepsPerEpoch)
        h.ttaLevel = 0
        let (network, _) = try train(data: data, hyperparameters: h, seed: 0, convolution: kernel.convolution,
                                     evaluateEachEpoch: false)
        let step = TrainStep(network: network, hyperparameters: h, batch: batch, schedule: GivenSchedule(factor: { _ in 0 }))
        let images = data.train.subset(Array(0..<batch))
        step.images.update(from: CifarLoader.normalizedImages(images, normalization: data.normalization),
                           count: batch * network.spec.input.pixels)
        for i in 0..<batch { step.labelPointer[i] = Int32(images.labels[i]) }
        var operands = [ConvolutionOperands]()
        network.convolutionObserver = { operands.append($0) }
        _ = try step.forwardBackward(whitenBiasTrainable: true)
        network.convolutionObserver = nil
        // Backward visits the layers last to first.
        let passes = operands.reversed().flatMap { o -> [ErrorReport.Pass] in
            let errors = ConvolutionAccuracy.measure(o.shape, input: o.input, weights: o.weights, gradOutput: o.gradOutput)
            return ConvolutionPass.allCases.map { pass in
                let run = pass == .backwardData ? o.shape.backwardDataShape : o.shape
                return ErrorReport.Pass(layer: o.layer, pass: pass, run: run,
                                        errors: Dictionary(uniqueKeysWithValues: errors[pass]!.map { ($0.rawValue, $1) }))
            }
        }
        return ErrorReport(date: ISO8601DateFormatter().string(from: Date()), kernelPath: KernelPath.active.description,
                           bf16Kernels: KernelPrecision.bf16Supported && KernelPath.active == .avx512,
                           method: h.method, widths: h.widths.array, data: self.data == nil ? "synthetic" : data.summary,
                           trainingSteps: steps, batchSize: batch, bound: BFloat16Winograd.errorBound, passes: passes)
    }
}

struct ErrorReport: Codable {
    struct Pass: Codable {
        var layer: String
        var pass: ConvolutionPass
        /// The shape the pass's kernels run on (backward-data: the transposed one).
        var run: ConvolutionShape
        /// By `ConvolutionArithmetic` name.
        var errors: [String: ConvolutionError]

        func error(_ arithmetic: ConvolutionArithmetic) -> ConvolutionError { errors[arithmetic.rawValue]! }
        /// A bf16 Winograd's relative error over bf16-direct's.
        func ratio(_ arithmetic: ConvolutionArithmetic) -> Double {
            error(arithmetic).relative / error(.bf16Direct).relative
        }
    }

    var date: String
    var kernelPath: String
    /// Whether bf16 ran on the AVX512_BF16 kernels (else bf16-direct is the exact convolution of rounded operands
    /// and the bf16 Winograds the plain-C arithmetic).
    var bf16Kernels: Bool
    var method: String
    var widths: [Int]
    var data: String
    var trainingSteps: Int
    var batchSize: Int
    /// `BFloat16Winograd.errorBound`.
    var bound: Double
    var passes: [Pass]

    func printTable() {
        print("airbench bench --errors — \(date), \(method), widths \(widths), \(kernelPath)"
              + (bf16Kernels ? " with AVX512_BF16" : " (bf16 in plain C)") + ", \(data), "
              + "after \(trainingSteps) training steps, batch \(batchSize)")
        let arithmetics = ConvolutionArithmetic.allCases, winograds = [ConvolutionArithmetic.bf16Winograd, .bf16Winograd4x4]
        let tables: [(String, KeyPath<ConvolutionError, Double>)] = [
            ("‖y − y64‖ / ‖y64‖; bf16 Winograd over bf16 direct (✓: within \(bound)×)", \.relative),
            ("max |y − y64| / rms(y64)", \.maximum), ("bias Σ (y − y64)·y64 / Σ y64²", \.bias),
        ]
        for (title, value) in tables {
            print("\n" + title)
            print(pad("layer", 9) + pad("pass", 18) + arithmetics.map { pad($0.rawValue, 13) }.joined()
                  + (value == \.relative ? winograds.map { pad($0.rawValue, 13) }.joined() : ""))
            for p in passes {
                let ratios = winograds.map { pad(String(format: "%.2f%@", p.ratio($0), p.ratio($0) <= bound ? " ✓" : ""), 13) }
                print(pad(p.layer, 9) + pad(p.pass.rawValue, 18)
                      + arithmetics.map { pad(String(format: "%.3g", p.error($0)[keyPath: value]), 13) }.joined()
                      + (value == \.relative ? ratios.joined() : ""))
            }
        }
    }

    private func pad(_ text: String, _ width: Int) -> String { text.padding(toLength: width, withPad: " ", startingAt: 0) }
}
