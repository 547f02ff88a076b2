import Airbench
import AirbenchData
import XCTest

final class ScheduleTests: XCTestCase {
    func testTriangleMatchesPyTorchFixtureAndKnots() throws {
        let fixture = try loadFixture("airbench94_small")
        // The fixture holds the first five values of Listing 4's triangle(20, start=0.2, end=0.07, peak=0.23).
        let expected = try fixture.floats("hyp.schedule")
        let ours = Schedules.triangle(totalSteps: 20, start: 0.2, peak: 0.23, end: 0.07)
        for (i, value) in expected.enumerated() { XCTAssertEqual(ours[i], Double(value), accuracy: 1e-6) }
        let full = Schedules.triangle(totalSteps: 476, start: 0.2, peak: 0.23, end: 0.07)
        XCTAssertEqual(full.count, 477)
        XCTAssertEqual(full[0], 0.2, accuracy: 1e-12)
        XCTAssertEqual(full[109], 1, accuracy: 1e-12)  // int(0.23 · 476) = 109
        XCTAssertEqual(full[476], 0.07, accuracy: 1e-12)
        XCTAssertEqual(full[50], 0.2 + 0.8 * 50 / 109, accuracy: 1e-12)
    }

    func testLookaheadDecay() throws {
        let fixture = try loadFixture("airbench94_small")
        let decay = Schedules.lookaheadDecay(totalSteps: 20)
        XCTAssertEqual(decay[5], Double(try fixture.floats("hyp.lookahead_decay")[0]), accuracy: 1e-7)
        XCTAssertEqual(decay[20], 0.7737809375, accuracy: 1e-9)  // 0.95⁵
    }

    func testDecoupledHyperparametersMatchListing4() {
        let h = Hyperparameters()
        let sgd = NesterovSGD(layout: Network.layout(spec: .airbench94()), hyperparameters: h)
        let kilostep = 1024 * (1 + 1 / (1 - 0.85))
        XCTAssertEqual(sgd.rates.weights, 11.5 / kilostep, accuracy: 1e-15)
        XCTAssertEqual(sgd.rates.normBiases, 64 * 11.5 / kilostep, accuracy: 1e-15)
        XCTAssertEqual(sgd.rates.whitenBias, 11.5 / kilostep, accuracy: 1e-15)
        XCTAssertEqual(sgd.rates.decayPerStep, 0.0153 * 1024 / kilostep, accuracy: 1e-15)
    }
}

final class LossTests: XCTestCase {
    /// The loss gradient against central differences of the loss itself (in Double through Float logits).
    func testLabelSmoothedCrossEntropyGradientMatchesFiniteDifferences() {
        var generator = SeededGenerator(seed: 4)
        let batch = 3, classes = 10
        let logits = (0..<batch * classes).map { _ in generator.uniformFloat() * 6 - 3 }
        let labels: [Int32] = [0, 7, 3]
        var gradient = [Float](repeating: 0, count: logits.count), scratch = gradient
        _ = LabelSmoothedCrossEntropy.evaluate(logits: logits, labels: labels, batch: batch, classes: classes,
                                               smoothing: 0.2, gradient: &gradient)
        let h: Float = 1e-2
        for i in logits.indices {
            var plus = logits, minus = logits
            plus[i] += h; minus[i] -= h
            let up = LabelSmoothedCrossEntropy.evaluate(logits: plus, labels: labels, batch: batch, classes: classes,
                                                        smoothing: 0.2, gradient: &scratch).loss
            let down = LabelSmoothedCrossEntropy.evaluate(logits: minus, labels: labels, batch: batch, classes: classes,
                                                          smoothing: 0.2, gradient: &scratch).loss
            XCTAssertEqual(Double(gradient[i]), (up - down) / Double(2 * h), accuracy: 1e-4, "logit \(i)")
        }
    }
}
