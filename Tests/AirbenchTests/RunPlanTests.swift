import Airbench
import XCTest

/// `RunPlan`: every quantity a run derives from its hyperparameters and data size, against counts worked out by
/// hand from the spec (Listing 4, spec B and C).
final class RunPlanTests: XCTestCase {
    func testLengthOfTheFamilysRuns() {
        let paper = RunPlan(Hyperparameters(), trainImages: 50_000)
        XCTAssertEqual(paper.stepsPerEpoch, 48)  // 50,000 / 1,024, the last partial batch dropped
        XCTAssertEqual(paper.totalSteps, 476)  // ⌈48 · 9.9⌉
        XCTAssertEqual(paper.epochs, 10)  // the tenth cut short
        XCTAssertEqual(paper.steps(ofEpoch: 0), 0..<48)
        XCTAssertEqual(paper.steps(ofEpoch: 9), 432..<476)
        XCTAssertEqual(paper.whitenBiasSteps, 144)  // 3 epochs
        XCTAssertTrue(paper.whitenBiasTrains(step: 143))
        XCTAssertFalse(paper.whitenBiasTrains(step: 144))
        var never = Hyperparameters()
        never.whitenBiasEpochs = nil
        XCTAssertEqual(RunPlan(never, trainImages: 50_000).whitenBiasSteps, 476)
        never.whitenBiasEpochs = 0.5
        XCTAssertEqual(RunPlan(never, trainImages: 50_000).whitenBiasSteps, 24)
    }

    /// airbench96_faster: 45 epochs of 48 steps; the proxy scores all 2,160 batches and trains on every 4th
    /// (steps 0, 4, 8, …: 540 of them); the main network trains on 512 examples per step.
    func testTheProxysStepsAndTheCostModel() {
        let faster = RunPlan(Method.airbench96Faster.hyperparameters, trainImages: 50_000)
        XCTAssertEqual(faster.totalSteps, 2160)
        XCTAssertEqual(faster.examplesPerStep, 512)
        XCTAssertEqual((0..<9).filter { faster.proxyTrains(step: $0) }, [0, 4, 8])
        XCTAssertEqual(faster.proxyUpdates, 540)
        XCTAssertEqual((0..<faster.totalSteps).filter { faster.proxyTrains(step: $0) }.count, faster.proxyUpdates)
        var longer = Method.airbench96Faster.hyperparameters
        longer.trainEpochs = 45.02  // ⌈48 · 45.02⌉ = 2161 steps: the proxy also trains at the last, step 2160
        XCTAssertEqual(RunPlan(longer, trainImages: 50_000).proxyUpdates, 541)
        XCTAssertEqual(faster.proxyPlan?.totalSteps, 2160)
        XCTAssertEqual(faster.proxyPlan?.hyperparameters.widths, Widths(block1: 32, block2: 64, block3: 64))
        XCTAssertNil(RunPlan(Hyperparameters(), trainImages: 50_000).proxyPlan)
        // bench's model of a whole run: 1 s a step, the proxy 0.1 s a scoring step and 0.3 s a training one, 1 ms
        // per test image and view: 2160 + 0.1·1620 + 0.3·540 + 0.001·6·10,000 = 2,544 s.
        let estimate = faster.timeEstimate(stepSeconds: 1, proxyScoringSeconds: 0.1, proxyStepSeconds: 0.3,
                                           evaluationSecondsPerView: 0.001)
        XCTAssertEqual(estimate.epochSeconds, 48, accuracy: 1e-9)
        XCTAssertEqual(estimate.proxySeconds, 324, accuracy: 1e-9)
        XCTAssertEqual(estimate.evaluationSeconds, 60, accuracy: 1e-9)
        XCTAssertEqual(estimate.totalSeconds, 2544, accuracy: 1e-9)
        // airbench94's 476 steps: 144 while the whitening bias trains (2 s each), 332 after it freezes (1.5 s):
        // 288 + 498 = 786 s of steps, a mean epoch of 48 · 786/476; a method that never freezes it takes one kind.
        let paper = RunPlan(Hyperparameters(), trainImages: 50_000)
        let both = paper.timeEstimate(stepSeconds: 2, frozenStepSeconds: 1.5, evaluationSecondsPerView: 0)
        XCTAssertEqual(both.totalSeconds, 786, accuracy: 1e-9)
        XCTAssertEqual(both.epochSeconds, 48 * 786 / 476, accuracy: 1e-9)
        XCTAssertEqual(paper.timeEstimate(stepSeconds: 2, evaluationSecondsPerView: 0).totalSeconds, 952, accuracy: 1e-9)
        XCTAssertEqual(faster.timeEstimate(stepSeconds: 1, frozenStepSeconds: 0.5, evaluationSecondsPerView: 0).totalSeconds,
                       2160, accuracy: 1e-9)  // airbench96_faster's bias never freezes
        // Without mirrored views (SVHN) TTA level 2 has 3 views.
        XCTAssertEqual(faster.timeEstimate(stepSeconds: 0, evaluationSecondsPerView: 0.001, mirror: false).evaluationSeconds,
                       30, accuracy: 1e-9)
    }

    /// The decoupled rates in PyTorch's units (Listing 4): kilostep = 1024·(1 + 1/(1 − 0.85)) = 7,850.67.
    func testRatesAndSchedules() {
        let paper = RunPlan(Hyperparameters(), trainImages: 50_000)
        let kilostep = 1024 * (1 + 1 / 0.15)
        XCTAssertEqual(paper.rates.weights, 11.5 / kilostep, accuracy: 1e-15)
        XCTAssertEqual(paper.rates.normBiases, 64 * 11.5 / kilostep, accuracy: 1e-15)
        XCTAssertEqual(paper.rates.decayPerStep, 0.0153 * 1024 / kilostep, accuracy: 1e-15)
        // The triangle: 0.2 at step 0, 1 at ⌊0.23 · 476⌋ = 109, 0.07 at 476.
        XCTAssertEqual(paper.scheduleFactor(step: 0), 0.2, accuracy: 1e-15)
        XCTAssertEqual(paper.scheduleFactor(step: 109), 1, accuracy: 1e-15)
        XCTAssertEqual(paper.scheduleFactor(step: 476), 0.07, accuracy: 1e-15)
        XCTAssertNil(paper.whitenBiasFactor(step: 0))  // the main schedule
        XCTAssertNil(paper.lookaheadDecay(afterStep: 4))
        XCTAssertEqual(paper.lookaheadDecay(afterStep: 5)!, 0.95 * 0.95 * 0.95 * 0.95 * 0.95 * pow(5.0 / 476, 3), accuracy: 1e-15)
    }
}
