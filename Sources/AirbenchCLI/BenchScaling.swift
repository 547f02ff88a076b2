import Airbench
import AirbenchData
import AirbenchKernels
import AirbenchStudies
import Foundation

/// `airbench bench --scaling`: how much faster a training step runs on N threads than on one, measured so that a
/// machine whose speed drifts from one minute to the next (a VM with busy neighbours) affects both sides alike.
/// Each pair times `steps` steps on 1 thread and `steps` on N in one process on the same batch, the order
/// alternating from pair to pair (1, N; N, 1; …); each pair gives one ratio, and the report is their mean with its
/// 95% t-interval, their median and range. Separate runs at 1 and at N threads minutes apart differed by up to
/// 10% on the Zen 3 of issue 22, pairs of adjacent measurements far less.
struct ScalingReport: Codable {
    var date: String
    /// `CPUModel.current`.
    var cpu: String
    var kernelPath: String
    var precision: KernelPrecision
    var method: String
    var batchSize: Int
    var threads: Int
    var stepsPerMeasurement: Int
    /// Seconds per step of each pair, in the order measured.
    var oneThreadSeconds: [Double]
    var threadsSeconds: [Double]
    /// oneThreadSeconds[i] / threadsSeconds[i].
    var ratios: [Double]
    var meanRatio: Double
    var ratioInterval95: [Double]
    var medianRatio: Double

    init(method: String, batchSize: Int, threads: Int, steps: Int, pairs: [(one: Double, many: Double)]) {
        date = ISO8601DateFormatter().string(from: Date())
        cpu = CPUModel.current
        kernelPath = KernelPath.active.description
        precision = KernelPrecision.active
        (self.method, self.batchSize, self.threads, stepsPerMeasurement) = (method, batchSize, threads, steps)
        oneThreadSeconds = pairs.map(\.one)
        threadsSeconds = pairs.map(\.many)
        ratios = pairs.map { $0.one / $0.many }
        meanRatio = Statistics.mean(ratios)
        let interval = Statistics.confidenceInterval95(ratios)
        ratioInterval95 = [interval.low, interval.high]
        let sorted = ratios.sorted()
        medianRatio = sorted.count % 2 == 1 ? sorted[sorted.count / 2]
            : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    func printTable() {
        print("\(method) training steps, 1 thread against \(threads): \(kernelPath) \(precision.rawValue), batch "
              + "\(batchSize), \(stepsPerMeasurement) step(s) per measurement, \(ratios.count) pairs in alternating order; cpu: \(cpu)")
        for (i, ratio) in ratios.enumerated() {
            print(String(format: "  pair %2d: 1 thread %.3f s/step, %d threads %.3f s/step: %.3fx", i + 1,
                         oneThreadSeconds[i], threads, threadsSeconds[i], ratio))
        }
        print(String(format: "scaling 1 → %d threads: mean %.3fx (95%% interval %.3f–%.3f), median %.3fx, range %.3f–%.3f",
                     threads, meanRatio, ratioInterval95[0], ratioInterval95[1], medianRatio, ratios.min() ?? 0,
                     ratios.max() ?? 0))
    }
}

extension BenchCommand {
    /// `pairs` pairs of measurements of `steps` training steps (after one untimed step at each thread count).
    func measureScaling(threads: Int, hyperparameters h: Hyperparameters, dataset: DatasetSelection, pairs: Int,
                        steps: Int) throws -> ScalingReport {
        guard threads >= 2 else { throw CLIError("--scaling compares 1 thread with more: give --threads 2 or more") }
        let plan = RunPlan(h, trainImages: dataset.officialCounts.train)
        var generator = SeededGenerator(seed: 0)
        let network = try Network(h, classes: dataset.classCount, convolution: kernel.convolution, generator: &generator)
        let step = StepTimer(network: network, hyperparameters: h, batch: plan.examplesPerStep,
                             renormalize: plan.muonRenormalizes)
        defer { KernelThreads.use(threads) }
        func secondsPerStep(on count: Int) -> Double {
            KernelThreads.use(count)
            return seconds { step.run(steps) } / Double(steps)
        }
        _ = (secondsPerStep(on: threads), secondsPerStep(on: 1))  // first touch of the buffers, both pools warm
        let measured = (0..<pairs).map { pair -> (one: Double, many: Double) in
            if pair % 2 == 0 {
                let one = secondsPerStep(on: 1)
                return (one, secondsPerStep(on: threads))
            }
            let many = secondsPerStep(on: threads)
            return (secondsPerStep(on: 1), many)
        }
        return ScalingReport(method: h.method, batchSize: plan.examplesPerStep, threads: threads, steps: steps,
                             pairs: measured)
    }
}
