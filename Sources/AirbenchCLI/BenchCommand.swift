import Airbench
import AirbenchData
import AirbenchKernels
import ArgumentParser
import Foundation

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the kernels and a training epoch on this machine.",
        discussion: """
            Prints the measured fp32 FMA peak (a register-only loop on each thread; with bf16 also the vdpbf16ps \
            peak) and memory bandwidth (a parallel copy), then a roofline table: for each convolution and \
            pass (forward, backward-data, backward-weights; a block's conv1 forward with its max-pool where \
            they run fused) the median time, its direct-equivalent GFLOP/s, the FLOPs it performs (a Winograd's \
            products and transforms) per second and as % of the peak of its precision, and the bytes it must move \
            per second and as % of the bandwidth; the same for the memory-bound passes (BatchNorm statistics and \
            apply with the activation, max-pool, their backward), with the bytes moved per training step with and \
            without the max-pool fusions (conv1 forward + pool, norm1 input gradient + pool backward). Then \
            timed training steps of METHOD (default airbench94; with its optimizer, batch size and, for \
            airbench96_faster, its proxy's steps) on synthetic data, of both kinds the run has (while the \
            whitening bias trains, and after it freezes, without the backward-data pass into the first block), \
            with the epoch and full-run estimates for the official sizes of --dataset (CIFAR-10 by default), and \
            the TTA evaluation's share of the run. Synthetic data: no --data needed.

            With --errors it times nothing: it trains METHOD for --steps steps (default 50; on --data's images, or \
            synthetic ones), records the operands of every 3×3 convolution in one training step on --batch-size \
            images (default 16), and prints each pass's error against a float64 direct convolution for fp32 direct, \
            F(2×2), F(4×4) and F(6×6) and bf16 direct, F(2×2) and F(4×4), with the bf16 Winograds' ratio to bf16 \
            direct's error and whether that is within the bound `auto` admits them by in bf16.

            With --scaling it times only training steps of METHOD, on 1 thread and on --threads in one process, \
            pair after pair in alternating order (1, N; N, 1; ...), so that a machine whose speed drifts from one \
            minute to the next affects both halves of a pair alike; it prints each pair's ratio and their mean \
            with its 95% interval, median and range (--repeats pairs of --steps steps each, default 2).
            """)

    @Option(help: ArgumentHelp("The method whose network, batch and steps are timed.", valueName: "method"))
    var method = "airbench94"

    @OptionGroup var datasetOptions: DatasetOptions
    @OptionGroup var kernel: KernelOptions
    @Option(help: "Batch size (default: the method's; with --errors the batch measured, default 16).") var batchSize: Int?
    @Option(help: "Block widths, comma-separated (default: the method's).") var widths: String?
    @Option(help: "Repetitions per measurement (the median is reported).") var repeats = 3
    @Option(help: "Training steps to time (default 4; with --errors, steps trained before measuring, default 50).")
    var steps: Int?
    @Flag(help: "Print JSON instead of a table.") var json = false
    @Flag(help: "Run each block's max-pool as a pass of its own, as before its fusions (conv1 forward with the pool; norm1's input gradient with the pool backward; the same bits): to time what the fusions save.")
    var unfused = false
    @Flag(help: "Measure the convolutions' errors per layer and pass instead of timing them (see above).")
    var errors = false
    @Flag(help: "Time the thread scaling of training steps instead (see above; --repeats pairs, default 3: ask for 10 or more).")
    var scaling = false
    @Option(help: ArgumentHelp("With --errors: train on this data set's images (a folder or .tar.gz, as train's --data) instead of synthetic ones.",
                               valueName: "path"))
    var data: String?

    func validate() throws {
        if let batchSize, batchSize < 2 { throw ValidationError("--batch-size must be at least 2") }
        guard Method.named(method) != nil else { throw ValidationError(unknownMethod(method)) }
        // Upper bounds far past any useful measurement: the timings of every repetition are held at once.
        if !(1...1000).contains(repeats) { throw ValidationError("--repeats must be 1...1000, got \(repeats)") }
        if let steps, !(1...100_000).contains(steps) { throw ValidationError("--steps must be 1...100000, got \(steps)") }
        if data != nil && !errors { throw ValidationError("--data is read by --errors only (timings use synthetic data)") }
        if scaling && (errors || unfused) { throw ValidationError("--scaling times whole steps: not with --errors or --unfused") }
        if scaling && kernel.threads == 1 { throw ValidationError("--scaling compares 1 thread with more: --threads must be at least 2") }
    }

    func run() throws {
        reportingErrors {
            let threadCount = kernel.start()
            let method = Method.named(method)!
            let dataset = try datasetOptions.selection(implied: method.dataset, impliedBy: "the preset \(method.name)")
            var h = method.hyperparameters.adapted(to: dataset)
            if let widths { h.widths = try TrainingOptions.parseWidths(widths) }
            if errors {
                try h.validate(classes: dataset.classCount)
                let report = try measureErrors(hyperparameters: h, dataset: dataset)
                if json { try printJSON(report) } else { report.printTable() }
                return
            }
            if let batchSize {
                // The proxy keeps the same fraction of a batch of another size.
                if let keep = h.proxy?.keep { h.proxy!.keep = max(2, keep * batchSize / h.batchSize) }
                h.batchSize = batchSize
            }
            try h.validate(classes: dataset.classCount)
            if scaling {
                let report = try measureScaling(threads: threadCount, hyperparameters: h, dataset: dataset,
                                                pairs: repeats, steps: steps ?? 2)
                if json { try printJSON(report) } else { report.printTable() }
                return
            }
            let report = try measure(threads: threadCount, hyperparameters: h, dataset: dataset)
            if json { try printJSON(report) } else { report.printTable() }
        }
    }

    func printJSON(_ report: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        print(String(decoding: try encoder.encode(report), as: UTF8.self))
    }

    func measure(threads: Int, hyperparameters h: Hyperparameters, dataset: DatasetSelection) throws -> BenchReport {
        let (trainImages, testImages) = dataset.officialCounts
        let corePeak = measureCorePeakFLOPS(seconds: 0.3)
        let bf16Runs = KernelPrecision.active == .bf16 || kernel.convolution.operandPrecision == .bf16
        let coreBFloat16Peak = bf16Runs ? measureCoreBFloat16PeakFLOPS(seconds: 0.3) : 0
        // Each pass's % of peak is of the peak of the precision it ran in.
        func peak(_ precision: KernelPrecision) -> Double { (precision == .bf16 ? coreBFloat16Peak : corePeak) * Double(threads) }
        let bandwidth = measureCopyBandwidth()
        let plan = RunPlan(h, trainImages: trainImages)
        var generator = SeededGenerator(seed: 0)
        let network = try Network(h, classes: dataset.classCount, convolution: kernel.convolution, generator: &generator)
        network.fusesPool = !unfused
        // The batch the main network trains on (airbench96_faster: the proxy's selection of each batch).
        let trainingBatch = plan.examplesPerStep
        var layers = [LayerTiming]()
        for (name, shape) in network.convolutionShapes(batch: trainingBatch) {
            let input = FloatBuffer(count: shape.inputCount, repeating: 0.5)
            let output = FloatBuffer(count: shape.outputCount, repeating: 0.25)
            let weights = FloatBuffer(count: shape.weightCount, repeating: 0.01)
            let forward = PackedWeights.forward(weights.pointer, shape: shape, algorithm: kernel.convolution)
            let backward = PackedWeights.backwardData(weights.pointer, shape: shape, algorithm: kernel.convolution)
            let grad = FloatBuffer(count: shape.weightCount)
            let pooled = network.poolIsFused(layer: name)
            func timing(_ pass: ConvolutionPass, _ algorithm: ConvolutionAlgorithm, _ precision: KernelPrecision,
                        _ body: () -> Void) -> LayerTiming {
                let seconds = median(repeats) { body() }
                let cost = ConvolutionCost.of(pass, shape, algorithm: algorithm, precision: precision,
                                              pooled: pass == .forward && pooled)
                return LayerTiming(layer: name, pass: pass.rawValue + (pass == .forward && pooled ? " + pool" : ""),
                                   algorithm: algorithm, precision: precision, milliseconds: seconds * 1e3,
                                   gflops: shape.flops / seconds / 1e9, computedGFLOP: cost.flops / 1e9,
                                   transformShare: cost.transformFLOPs / cost.flops,
                                   percentOfPeak: 100 * cost.flops / seconds / peak(precision), megabytes: cost.bytes / 1e6,
                                   percentOfBandwidth: 100 * cost.bytes / seconds / bandwidth)
            }
            let pooledCount = shape.batch * (shape.outputHeight / 2) * (shape.outputWidth / 2) * shape.outputChannels
            let pooledOutput = FloatBuffer(count: pooled ? pooledCount : 0), argmax = Buffer<UInt8>(count: pooled ? pooledCount : 0, repeating: 0)
            layers.append(timing(.forward, forward.algorithm, forward.precision) {
                if pooled {
                    Convolution.forwardPooled(shape, input: input.pointer, weights: forward, scratch: output.pointer,
                                              pooled: pooledOutput.pointer, argmax: argmax.pointer)
                } else {
                    Convolution.forward(shape, input: input.pointer, weights: forward, output: output.pointer)
                }
            })
            // The whitening layer's weight is frozen and its input is the data: it has no backward passes.
            if name == network.spec.whiteningModule && !network.spec.whiteningLayer.trainable { continue }
            layers.append(timing(.backwardData, backward.algorithm, backward.precision) {
                Convolution.backwardData(shape, gradOutput: output.pointer, weights: backward, gradInput: input.pointer)
            })
            let weightsAlgorithm = kernel.convolution.effective(forPass: shape, .backwardWeights)
            layers.append(timing(.backwardWeights, weightsAlgorithm, weightsAlgorithm.operandPrecision) {
                Convolution.backwardWeights(shape, input: input.pointer, gradOutput: output.pointer, gradWeights: grad.pointer,
                                            algorithm: kernel.convolution)
            })
        }
        // The memory-bound passes at the training batch, and the bytes a step moves with and without the max-pool
        // fusions (conv1's forward writing its whole output, then the pool; norm1's input gradient, then the pool's
        // backward).
        let memory = network.memoryPasses(batch: trainingBatch).map { pass -> MemoryTiming in
            pass.run()  // first touch
            let seconds = median(repeats) { pass.run() }
            return MemoryTiming(layer: pass.layer, pass: pass.name, milliseconds: seconds * 1e3, megabytes: pass.bytes / 1e6,
                                percentOfBandwidth: 100 * pass.bytes / seconds / bandwidth)
        }
        let convolutionBytes = 1e6 * layers.map(\.megabytes).reduce(0, +)
        let memoryBytes = 1e6 * memory.map(\.megabytes).reduce(0, +)
        let unfusedMemoryBytes = network.memoryPasses(batch: trainingBatch, fused: false).map(\.bytes).reduce(0, +)
        // Without the fusion a fused conv1 writes its whole output instead of the pooled values and indices
        // (`ConvolutionCost` counts both), and the separate pool runs.
        let fusedSaving = network.convolutionShapes(batch: trainingBatch).filter { network.poolIsFused(layer: $0.name) }
            .map { _, s -> Double in
                let algorithm = kernel.convolution.effective(forPass: s, .forward), precision = algorithm.operandPrecision
                let written = ConvolutionCost.of(.forward, s, algorithm: algorithm, precision: precision).bytes
                return written - ConvolutionCost.of(.forward, s, algorithm: algorithm, precision: precision, pooled: true).bytes
            }
            .reduce(0, +)
        let run = try RunTimeMeasurement(network: network, hyperparameters: h, plan: plan, dataset: dataset,
                                         convolution: kernel.convolution, repeats: repeats, steps: steps ?? 4)
        let (stepSeconds, estimate) = (run.stepSeconds, run.estimate)
        let flopsPerStep = 3 * network.forwardFLOPsPerImage * Double(trainingBatch)
        return BenchReport(
            date: ISO8601DateFormatter().string(from: Date()), cpu: CPUModel.current, kernelPath: KernelPath.active.description,
            precision: KernelPrecision.active, convolution: kernel.convolution, threads: threads,
            corePeakGFLOPS: corePeak / 1e9, coreBFloat16PeakGFLOPS: coreBFloat16Peak / 1e9, method: h.method, dataset: dataset.description,
            trainImages: trainImages, testImages: testImages,
            batchSize: trainingBatch, widths: h.widths.array, layers: layers, stepSeconds: stepSeconds,
            frozenStepSeconds: run.frozenStepSeconds, stepGFLOPS: flopsPerStep / stepSeconds / 1e9,
            epochSeconds: estimate.epochSeconds, totalSteps: plan.totalSteps, whitenBiasSteps: plan.whitenBiasSteps,
            proxySeconds: estimate.proxySeconds, ttaEvaluationSeconds: estimate.evaluationSeconds,
            fullRunSeconds: estimate.totalSeconds, copyBandwidthGBs: bandwidth / 1e9, memoryPasses: memory,
            stepGigabytes: (convolutionBytes + memoryBytes) / 1e9,
            unfusedStepGigabytes: (convolutionBytes + fusedSaving + unfusedMemoryBytes) / 1e9)
    }
}

struct LayerTiming: Codable {
    var layer: String
    var pass: String
    /// The algorithm and operand precision this pass ran in; percentOfPeak is of that precision's peak.
    var algorithm: ConvolutionAlgorithm
    var precision: KernelPrecision
    var milliseconds: Double
    /// The direct convolution's FLOPs per second (what a Winograd is worth; can pass the peak).
    var gflops: Double
    /// FLOPs performed (`ConvolutionCost`: a Winograd's products and transforms), and the transforms' share.
    var computedGFLOP: Double
    var transformShare: Double
    /// The performed FLOPs per second as % of the peak.
    var percentOfPeak: Double
    /// Bytes the pass must move (`ConvolutionCost`), and per second as % of the copy bandwidth.
    var megabytes: Double
    var percentOfBandwidth: Double
}

/// One memory-bound pass of a training step (`Network.memoryPasses`), timed.
struct MemoryTiming: Codable {
    var layer: String
    var pass: String
    var milliseconds: Double
    var megabytes: Double
    var percentOfBandwidth: Double
}

struct BenchReport: Codable {
    var date: String
    /// `CPUModel.current`: timings compare only on one CPU model.
    var cpu: String
    var kernelPath: String
    var precision: KernelPrecision
    var convolution: ConvolutionAlgorithm
    var threads: Int
    /// fp32 FMA peak of one core on the active path.
    var corePeakGFLOPS: Double
    /// bf16 (`vdpbf16ps`) peak of one core; 0 unless some convolutions run bf16.
    var coreBFloat16PeakGFLOPS: Double
    var method: String
    /// The data set whose official sizes the estimates assume (the timings use synthetic images).
    var dataset: String
    var trainImages: Int
    var testImages: Int
    /// Examples per timed step (airbench96_faster: those the proxy keeps).
    var batchSize: Int
    var widths: [Int]
    var layers: [LayerTiming]
    /// A training step while the whitening bias trains (the run's first `whitenBiasSteps`), and after it freezes
    /// (absent where it never does); stepGFLOPS is of the first.
    var stepSeconds: Double
    var frozenStepSeconds: Double?
    var stepGFLOPS: Double
    /// Of the run's mean step.
    var epochSeconds: Double
    var totalSteps: Int
    var whitenBiasSteps: Int
    /// airbench96_faster's proxy pass over the whole run (0 for the other methods).
    var proxySeconds: Double
    var ttaEvaluationSeconds: Double
    var fullRunSeconds: Double
    /// Parallel memcpy, bytes read and written per second (the memory roof).
    var copyBandwidthGBs: Double
    var memoryPasses: [MemoryTiming]
    /// Bytes the passes of one training step must move (convolutions and memory-bound passes, the model of
    /// `ConvolutionCost` and `MemoryPass`), and what they would without the max-pool fusions.
    var stepGigabytes: Double
    var unfusedStepGigabytes: Double

    func printTable() {
        print("airbench bench — \(date), \(method), \(kernelPath) \(precision), \(convolution) 3×3 convolutions, "
              + "\(threads) thread(s), batch \(batchSize), widths \(widths)")
        print("cpu: \(cpu)")
        print(String(format: "measured fp32 peak: %.1f GFLOP/s per core", corePeakGFLOPS)
              + (coreBFloat16PeakGFLOPS > 0 ? String(format: "; bf16 peak: %.1f GFLOP/s per core", coreBFloat16PeakGFLOPS) : "")
              + String(format: " (× %d thread(s)); copy bandwidth %.1f GB/s", threads, copyBandwidthGBs))
        print("roofline: direct GFLOP/s = the direct convolution's FLOPs per second; GFLOP = performed (Winograd: products "
              + "and transforms, their share in brackets); % peak of the pass's precision; MB it must move; % of the copy bandwidth")
        print("layer          pass                          algorithm        precision      ms  direct GFLOP/s   GFLOP (transf.)  % peak       MB  % bandwidth")
        func cells(_ columns: [(String, Int)]) -> String {
            columns.map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: " ")
        }
        for l in layers {
            print(cells([(l.layer, 14), (l.pass, 29), (l.algorithm.rawValue, 16), (l.precision.rawValue, 9)])
                  + String(format: " %9.2f %15.1f %8.2f (%4.1f%%) %7.1f %8.1f %12.1f", l.milliseconds, l.gflops, l.computedGFLOP,
                           100 * l.transformShare, l.percentOfPeak, l.megabytes, l.percentOfBandwidth))
        }
        for m in memoryPasses {
            print(cells([(m.layer, 14), (m.pass, 29), ("memory-bound", 16), ("fp32", 9)])
                  + String(format: " %9.2f", m.milliseconds) + String(repeating: " ", count: 42)
                  + String(format: "%8.1f %12.1f", m.megabytes, m.percentOfBandwidth))
        }
        let convolutionMilliseconds = layers.map(\.milliseconds).reduce(0, +)
        let memoryMilliseconds = memoryPasses.map(\.milliseconds).reduce(0, +)
        print(String(format: "sum of the passes: convolutions %.1f ms, memory-bound %.1f ms; bytes moved per training step "
                     + "%.2f GB (without the max-pool fusions %.2f GB)", convolutionMilliseconds, memoryMilliseconds,
                     stepGigabytes, unfusedStepGigabytes))
        print(String(format: "training step: %.3f s (%.1f GFLOP/s over the convolution FLOPs)", stepSeconds, stepGFLOPS)
              + (frozenStepSeconds.map {
                  String(format: " while the whitening bias trains (the first %d of %d steps), %.3f s after it freezes",
                         whitenBiasSteps, totalSteps, $0)
              } ?? ""))
        print(String(format: "epoch estimate: %.1f s; TTA evaluation estimate: %.1f s (%.1f%% of the run)", epochSeconds,
                     ttaEvaluationSeconds, 100 * ttaEvaluationSeconds / fullRunSeconds)
              + (proxySeconds > 0 ? String(format: "; proxy pass estimate: %.1f s", proxySeconds) : ""))
        print(String(format: "full %@ run estimate on %@ (%d training, %d test images; %d steps): %.1f s (%.1f min)",
                     method, dataset, trainImages, testImages, totalSteps, fullRunSeconds, fullRunSeconds / 60))
    }
}
