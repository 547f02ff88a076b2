import Airbench
import AirbenchData
import XCTest

final class InitializationTests: XCTestCase {
    /// dirac_ on the first in_channels filters of each 3×3 convolution; the rest U(±1/√fan_in) (PyTorch's
    /// kaiming-uniform with a = √5); BatchNorm weight 1, bias 0, running mean 0, running variance 1.
    func testDefaultInitialisationFollowsListing4() {
        let widths = Widths(block1: 32, block2: 16, block3: 24)  // block 2 narrower than its input: dirac on 16 filters
        let network = Network(widths: widths)
        var generator = SeededGenerator(seed: 5)
        network.initialize(using: &generator)
        for entry in network.state.layout.entries {
            let v = network.state.values(entry.name)
            if entry.name.hasSuffix("conv1.weight") || entry.name.hasSuffix("conv2.weight") {
                let (out, inp) = (entry.shape[0], entry.shape[1]), filter = inp * 9
                let bound = 1 / Float(filter).squareRoot()
                for o in 0..<out {
                    let f = Array(v[o * filter..<(o + 1) * filter])
                    if o < inp {
                        var identity = [Float](repeating: 0, count: filter)
                        identity[o * 9 + 4] = 1
                        XCTAssertEqual(f, identity, "\(entry.name) filter \(o) is not the identity")
                    } else {
                        XCTAssertTrue(f.allSatisfy { abs($0) <= bound }, "\(entry.name) filter \(o) out of ±\(bound)")
                        XCTAssertGreaterThan(f.map(abs).max()!, 0.5 * bound, "\(entry.name) filter \(o) too small")
                    }
                }
            } else if entry.name == "7.weight" {
                let bound = 1 / Float(widths.block3).squareRoot()
                XCTAssertTrue(v.allSatisfy { abs($0) <= bound })
                XCTAssertGreaterThan(v.map(abs).max()!, 0.9 * bound)
            } else if entry.name.hasSuffix("norm1.weight") || entry.name.hasSuffix("norm2.weight") || entry.name.hasSuffix("running_var") {
                XCTAssertEqual(Set(v), [1], entry.name)
            } else if entry.name.hasSuffix(".bias") || entry.name.hasSuffix("running_mean") {
                XCTAssertEqual(Set(v), [0], entry.name)
            }
        }
    }

    func testSameSeedSameInitialisationDifferentSeedDifferent() {
        func initial(_ seed: UInt64) -> [Float] {
            let network = Network(widths: Widths(block1: 8, block2: 8, block3: 8))
            var generator = SeededGenerator(seed: seed)
            network.initialize(using: &generator)
            return network.state.storage.array
        }
        XCTAssertEqual(initial(1), initial(1))
        XCTAssertNotEqual(initial(1), initial(2))
    }

    /// The whitened patches have (nearly) identity covariance: for the first 12 filters, W·C·Wᵀ = diag(λ/(λ+ε)).
    func testWhiteningWhitensThePatchCovariance() {
        var generator = SeededGenerator(seed: 9)
        let count = 20
        // Correlated channels so the covariance is far from identity.
        var images = [Float](repeating: 0, count: count * 3072)
        for i in stride(from: 0, to: images.count, by: 3) {
            let base = generator.uniformFloat() * 2 - 1
            images[i] = base; images[i + 1] = 0.8 * base + 0.2 * generator.uniformFloat(); images[i + 2] = generator.uniformFloat()
        }
        let (eigenvalues, weights) = images.withUnsafeBufferPointer {
            Whitening.parameters(images: $0.baseAddress!, count: count, epsilon: 5e-4)
        }
        XCTAssertEqual(eigenvalues, eigenvalues.sorted(by: >))
        // Covariance of the whitened outputs, computed directly from the patches.
        var outputs = [[Double]](repeating: [], count: 12)
        for n in 0..<count { for y in 0..<31 { for x in 0..<31 {
            for f in 0..<12 {
                var sum = 0.0
                for c in 0..<3 { for ky in 0..<2 { for kx in 0..<2 {
                    sum += Double(weights[f * 12 + c * 4 + ky * 2 + kx]) * Double(images[((n * 32 + y + ky) * 32 + x + kx) * 3 + c])
                } } }
                outputs[f].append(sum)
            }
        } } }
        for i in 0..<12 {
            for j in 0..<12 {
                let c = zip(outputs[i], outputs[j]).reduce(0) { $0 + $1.0 * $1.1 } / Double(outputs[i].count)
                let expected = i == j ? eigenvalues[i] / (eigenvalues[i] + 5e-4) : 0
                XCTAssertEqual(c, expected, accuracy: 1e-3, "covariance[\(i)][\(j)]")
            }
        }
        XCTAssertEqual(Array(weights[144...]), weights[..<144].map { -$0 })
    }
}
