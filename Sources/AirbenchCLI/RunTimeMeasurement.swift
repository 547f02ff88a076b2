import Airbench
import AirbenchData
import AirbenchKernels
import Foundation

/// A whole run of a method timed in pieces on this machine, on synthetic data, and put together by
/// `RunPlan.timeEstimate`: training steps of both kinds the run has (while the whitening bias trains, its first
/// steps, and after it freezes, without the backward-data pass into the first block), in alternation so that a
/// machine whose speed drifts affects both alike; airbench96_faster's proxy steps; one evaluation forward pass.
/// `bench` reports it beside the per-pass table; `sweep --dry-run --estimate` adds it up over a study's runs.
struct RunTimeMeasurement {
    /// A training step while the whitening bias trains, and after it freezes (nil where the run never freezes it).
    var stepSeconds: Double, frozenStepSeconds: Double?
    var estimate: RunTimeEstimate

    /// Times `network` (built from `h`, computing with `convolution`) at `plan`'s batch: each piece `repeats` times
    /// over `steps` steps (the medians), with `dataset`'s official test-set size and views for the evaluation.
    init(network: Network, hyperparameters h: Hyperparameters, plan: RunPlan, dataset: DatasetSelection,
         convolution: ConvolutionAlgorithm, repeats: Int, steps: Int) throws {
        // Muon renormalises at the run's own steps (hiverge: 37 of 243, more often early), counted from step 1.
        let step = StepTimer(network: network, hyperparameters: h, batch: plan.examplesPerStep,
                             renormalize: plan.muonRenormalizes)
        step.run(1)  // first touch of the buffers
        let freezes = plan.whitenBiasSteps < plan.totalSteps
        var trainingTimes = [Double](), frozenTimes = [Double]()
        for _ in 0..<repeats {
            trainingTimes.append(seconds { step.run(steps) } / Double(steps))
            if freezes { frozenTimes.append(seconds { step.run(steps, whitenBiasTrainable: false) } / Double(steps)) }
        }
        stepSeconds = median(trainingTimes)
        frozenStepSeconds = freezes ? median(frozenTimes) : nil
        // airbench96_faster's proxy: a scoring forward pass on every batch, a training step on every interval-th
        // (its whitening bias frozen, as ProxyFilter runs it).
        var proxyScoring = 0.0, proxyStep = 0.0
        if let p = h.proxyHyperparameters {
            var generator = SeededGenerator(seed: 1)
            let proxyNetwork = try Network(p, classes: dataset.classCount, convolution: convolution, generator: &generator)
            let timer = StepTimer(network: proxyNetwork, hyperparameters: p, batch: h.batchSize)
            timer.run(1)
            proxyStep = median(repeats) { timer.run(steps, whitenBiasTrainable: false) } / Double(steps)
            proxyScoring = median(repeats) { timer.score(steps) } / Double(steps)
        }
        // One evaluation-mode forward pass of a batch as `train`'s final evaluation runs it: in the training
        // step's workspace, the test images split into equal batches that fit it.
        let testImages = dataset.officialCounts.test
        let evalBatch = Network.evaluationBatch(images: testImages, workspace: plan.examplesPerStep)
        let workspace = step.step.workspace
        workspace.inputPointer.update(repeating: 0.1, count: evalBatch * network.spec.input.pixels)
        let evalSeconds = median(repeats) { network.forward(workspace, training: false, images: evalBatch) }
        estimate = plan.timeEstimate(stepSeconds: stepSeconds, frozenStepSeconds: frozenStepSeconds,
                                     proxyScoringSeconds: proxyScoring, proxyStepSeconds: proxyStep,
                                     evaluationSecondsPerView: evalSeconds / Double(evalBatch), testImages: testImages,
                                     mirror: dataset.name.mirrorable)
    }
}

/// Runs full training steps (`TrainStep`: forward, loss, backward, the method's optimizers; no Lookahead,
/// constant schedule factor 0.5; Muon renormalising at the steps `renormalize` gives, e.g. the run's own) on one
/// synthetic batch of `batch` examples.
final class StepTimer {
    let step: TrainStep

    init(network: Network, hyperparameters h: Hyperparameters, batch: Int,
         renormalize: @escaping (Int) -> Bool = { _ in true }) {
        var h = h
        h.lookahead = false
        step = TrainStep(network: network, hyperparameters: h, batch: batch,
                         schedule: GivenSchedule(factor: { _ in 0.5 }, renormalize: renormalize))
        var generator = SeededGenerator(seed: 1)
        for i in 0..<batch * network.spec.input.pixels { step.images[i] = generator.uniformFloat() * 2 - 1 }
        for i in 0..<batch { step.labelPointer[i] = Int32(i % network.classes) }
    }

    /// `steps` steps, with the whitening bias trainable (a run's first steps) or frozen (the rest).
    func run(_ steps: Int, whitenBiasTrainable: Bool = true) {
        // Only the time counts here: a non-finite loss (which skips that step's update) is not the timer's concern.
        for _ in 0..<steps { _ = try? step(whitenBiasTrainable: whitenBiasTrainable) }
    }

    /// Training-mode forward passes and losses only (airbench96_faster's proxy between its updates).
    func score(_ steps: Int) {
        for _ in 0..<steps { _ = try? step.forwardLoss() }
    }
}

/// Median wall time of `count` runs of `body`, in seconds.
func median(_ count: Int, _ body: () -> Void) -> Double {
    median((0..<count).map { _ in seconds(body) })
}

/// The median of `times` (the upper one of an even count).
func median(_ times: [Double]) -> Double { times.sorted()[times.count / 2] }

/// Wall time of one run of `body`, in seconds.
func seconds(_ body: () -> Void) -> Double {
    let start = ContinuousClock.now
    body()
    return (ContinuousClock.now - start).seconds
}
