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

    /// Evaluating in a lent workspace (a training step's, larger than the batches `infer` picks) gives the logits
    /// of an evaluation in a workspace of its own, bit for bit, at every TTA level and for selective TTA: the
    /// images are split into other batches (30 in a 16-image workspace: 15 and 15; on their own 8, 8, 7, 7), and
    /// only the first images of the lent workspace run.
    func testALentWorkspaceGivesTheSameLogits() {
        var generator = SeededGenerator(seed: 7)
        let network = Network(widths: Widths(block1: 8, block2: 16, block3: 16))
        network.initialize(using: &generator)
        let images = CifarLoader.normalizedImages(.synthetic(count: 30, seed: 4))
        let lent = network.makeWorkspace(batch: 16)
        lent.inputPointer.update(repeating: .nan, count: 16 * network.spec.input.pixels)  // a stale batch
        let own = network.inferLevels([0, 1, 2], images.withUnsafeBufferPointer { Array($0) }, mirror: true)
        let own8 = images.withUnsafeBufferPointer {
            network.inferLevels([0, 1, 2], images: $0.baseAddress!, count: 30, batchSize: 8)
        }
        let borrowed = network.inferLevels([0, 1, 2], images, workspace: lent)
        XCTAssertEqual(own8, own)
        XCTAssertEqual(borrowed.map { $0.map(\.bitPattern) }, own.map { $0.map(\.bitPattern) })
        XCTAssertTrue(borrowed.allSatisfy { $0.allSatisfy(\.isFinite) })
        let selective = network.selectiveTTA(plainLogits: own[0], images: images, selecting: 11, level: 2, batchSize: 4)
        let lentSelective = network.selectiveTTA(plainLogits: own[0], images: images, selecting: 11, level: 2, workspace: lent)
        XCTAssertEqual(lentSelective, selective)
    }
}
