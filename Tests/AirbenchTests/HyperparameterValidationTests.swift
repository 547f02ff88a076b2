import Airbench
import XCTest

/// `Hyperparameters.validate`: every numeric key at 0, negative, huge, infinite and NaN is refused (or, where
/// such a value can run, accepted), with one line naming the key; every preset passes.
final class HyperparameterValidationTests: XCTestCase {
    /// The outcome of setting `key` to `value` on `base` and validating: nil when it can run, else the message.
    func refusal(_ key: String, _ value: Any, base: Hyperparameters = Hyperparameters()) -> String? {
        do {
            try base.setting(key, to: value).validate()
            return nil
        } catch { return "\(error)" }
    }

    func testEveryPresetIsValid() {
        for method in Method.allWithPresets {
            XCTAssertEqual(method.hyperparameters.problems(), [], method.name)
        }
    }

    /// The values that took the process down before (a trap, a precondition, a range error), and their kin.
    func testHostileValuesAreRefusedNamingTheKey() {
        let huge = 1e300, cases: [(String, [Any])] = [
            ("trainEpochs", [0, -1, huge, 1001, Double.infinity, Double.nan]),
            ("batchSize", [0, 1, -5, 1 << 40]),
            ("learningRate", [-1, Double.infinity, Double.nan]), ("weightDecay", [-0.1, Double.nan]),
            ("biasScaler", [-64]), ("whitenBiasScaler", [-1]), ("muonLearningRate", [-0.1]),
            ("momentum", [-0.1, 1, huge]), ("muonMomentum", [1.5]), ("labelSmoothing", [-0.2, 1.01]),
            ("scheduleStart", [-1]), ("scheduleEnd", [-0.5]), ("schedulePeak", [-0.1, 1.5]),
            ("lookaheadInterval", [0, -5, 1 << 40]), ("whitenBiasEpochs", [-1, huge]),
            ("whiteningImages", [0, -5, 1 << 40]), ("whiteningEpsilon", [0, -1e-3]),
            ("widths.block1", [0, -8, 1 << 20]), ("widths.block3", [0]), ("convsPerGroup", [0, 1, 4]),
            ("batchNormMomentum", [-0.1, 1.1]), ("batchNormEpsilon", [0, -1, 2]), ("scalingFactor", [0, -1]),
            ("translate", [-1, 32, 100_000]), ("cutout", [-4, 33]), ("ttaLevel", [-1, 3]),
            ("ttaSelect", [0, -0.25, 1.01, Double.nan]), ("brightnessJitter", [-0.1, Double.infinity]),
            ("contrastJitter", [-0.1, 1, 1.5]), ("muonWeightDecay", [-0.001, 5, Double.nan]),
        ]
        for (key, values) in cases {
            for value in values {
                let message = refusal(key, value)
                XCTAssertNotNil(message, "\(key) = \(value) was accepted")
                XCTAssertTrue(message?.contains(key) ?? false, "\(key) = \(value): \(message ?? "")")
                XCTAssertFalse(message?.contains("\n") ?? false, "one line: \(message ?? "")")
            }
        }
    }

    func testTheProxyAndTheResidualRulesAreChecked() {
        let faster = Method.airbench96Faster.hyperparameters
        for (key, value) in [("proxy.keep", 0), ("proxy.keep", 1025), ("proxy.stepInterval", 0), ("proxy.widths.block2", 0)] {
            XCTAssertNotNil(refusal(key, value, base: faster), "\(key) = \(value)")
        }
        XCTAssertNotNil(refusal("activationAfterAdd", true))  // airbench94 has no residual
        XCTAssertNil(refusal("activationAfterAdd", true, base: Method.airbench96.hyperparameters))
    }

    /// The edges of each range run: the check refuses exactly what cannot.
    func testBoundaryValuesThatCanRunAreAccepted() {
        let accepted: [(String, Any)] = [
            ("trainEpochs", 1000), ("trainEpochs", 0.01), ("batchSize", 2), ("learningRate", 0), ("weightDecay", 0),
            ("biasScaler", 0), ("momentum", 0), ("momentum", 0.99), ("labelSmoothing", 0), ("labelSmoothing", 1),
            ("schedulePeak", 0), ("schedulePeak", 1), ("lookaheadInterval", 1), ("whitenBiasEpochs", 0),
            ("whiteningImages", 1), ("translate", 0), ("translate", 31), ("cutout", 0), ("cutout", 32), ("ttaLevel", 0),
            ("batchNormMomentum", 1), ("widths.block1", 1), ("convsPerGroup", 3), ("ttaSelect", 1), ("ttaSelect", 0.001),
            ("brightnessJitter", 0), ("brightnessJitter", 2), ("contrastJitter", 0.99), ("muonWeightDecay", 4),
        ]
        for (key, value) in accepted { XCTAssertNil(refusal(key, value), "\(key) = \(value)") }
    }

    /// Sizes too large for the machine are refused before anything is allocated. The counted buffers scale with
    /// the batch (linearly) and with the widths; airbench94's, about 2.2 GiB at batch 1,024 (its measured peak is
    /// 2.66 GiB), fit a 24 GiB machine.
    func testBuffersTooLargeForTheMachineAreRefused() throws {
        let gib: UInt64 = 1 << 30
        let paper = Hyperparameters()
        let bytes = paper.memoryBytes(classes: 10)
        XCTAssertGreaterThan(bytes, 2 << 30)
        XCTAssertLessThan(bytes, 3 << 30)
        var double = paper
        double.batchSize = 2048
        XCTAssertGreaterThan(double.memoryBytes(classes: 10) - bytes, 1 << 30, "the training workspace scales with the batch")
        XCTAssertNoThrow(try paper.validate(classes: 10, memory: 24 * gib))
        XCTAssertThrowsError(try paper.validate(classes: 10, memory: 2 * gib)) {
            XCTAssertTrue("\($0)".contains("batchSize = 1024 with widths 64/256/256 needs about"), "\($0)")
        }
        var huge = paper
        huge.batchSize = 65_536
        XCTAssertThrowsError(try huge.validate(classes: 10, memory: 24 * gib))
        huge = paper
        huge.widths = Widths(block1: 64, block2: 8192, block3: 8192)
        XCTAssertThrowsError(try huge.validate(classes: 10, memory: 24 * gib))
        // The proxy's network counts too.
        let faster = Method.airbench96Faster.hyperparameters
        var unfiltered = faster
        unfiltered.proxy = nil
        XCTAssertGreaterThan(faster.memoryBytes(classes: 10), unfiltered.memoryBytes(classes: 10) / 2)
    }
}
