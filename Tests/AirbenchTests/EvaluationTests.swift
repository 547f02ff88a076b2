import Airbench
import AirbenchData
import AirbenchKernels
import XCTest

final class EvaluationTests: XCTestCase {
    /// `infer` packs each layer's weights once for all its views and batches; the next evaluation must see
    /// weights changed in between, exactly as a network built with those weights does.
    func testEvaluationsSeeTheCurrentWeights() {
        let widths = Widths(block1: 8, block2: 16, block3: 16)
        var generator = SeededGenerator(seed: 5)
        let network = Network(widths: widths)
        network.initialize(using: &generator)
        let images = CifarLoader.normalizedImages(.synthetic(count: 30, seed: 3))
        func logits(_ n: Network) -> [Float] {
            images.withUnsafeBufferPointer { n.infer(images: $0.baseAddress!, count: 30, ttaLevel: 2, batchSize: 8) }
        }
        let before = logits(network)
        var weights = network.state.values("3.conv1.weight")
        for i in weights.indices { weights[i] *= -1.5 }
        network.state.set("3.conv1.weight", weights)
        let after = logits(network)
        XCTAssertNotEqual(before, after)
        let fresh = Network(widths: widths)
        fresh.state.copy(from: network.state)
        XCTAssertEqual(after, logits(fresh))
    }
}
