import AirbenchData
import XCTest

final class RandomGeneratorTests: XCTestCase {
    /// Reference values from an independent Python implementation of splitmix64 + xoshiro256**.
    func testMatchesReferenceStream() {
        var zero = SeededGenerator(seed: 0)
        XCTAssertEqual([zero.next(), zero.next(), zero.next()], [0x99EC_5F36_CB75_F2B4, 0xBF6E_1F78_4956_452A, 0x1A5F_849D_4933_E6E0])
        var fortyTwo = SeededGenerator(seed: 42)
        XCTAssertEqual([fortyTwo.next(), fortyTwo.next(), fortyTwo.next()], [0x1578_0B2E_0C2E_C716, 0x6104_D986_6D11_3A7E, 0xAE17_5332_39E4_99A1])
    }

    func testUniformFloatsUse24BitsInUnitInterval() {
        var generator = SeededGenerator(seed: 7)
        var sum = 0.0
        for _ in 0 ..< 100_000 {
            let value = generator.uniformFloat()
            XCTAssert(value >= 0 && value < 1)
            let scaled = value * 0x1p24
            XCTAssertEqual(scaled, scaled.rounded(), "not a multiple of 2^-24")
            sum += Double(value)
        }
        XCTAssertEqual(sum / 100_000, 0.5, accuracy: 0.01)
    }

    func testUniformDoublesInUnitInterval() {
        var generator = SeededGenerator(seed: 8)
        let values = (0 ..< 100_000).map { _ in generator.uniformDouble() }
        XCTAssert(values.allSatisfy { $0 >= 0 && $0 < 1 })
        XCTAssertEqual(values.reduce(0, +) / 100_000, 0.5, accuracy: 0.01)
        XCTAssertTrue(values.contains { $0 * 0x1p24 != ($0 * 0x1p24).rounded() }, "fewer than 53 bits")
    }

    func testIntBelowIsInRangeAndUniform() {
        var generator = SeededGenerator(seed: 9)
        var counts = [Int](repeating: 0, count: 10)
        for _ in 0 ..< 100_000 {
            counts[generator.int(below: 10)] += 1
        }
        for count in counts { XCTAssertEqual(Double(count), 10_000, accuracy: 500) }
        XCTAssertEqual(generator.int(below: 1), 0)
        let huge = (0 ..< 1000).map { _ in generator.int(below: Int.max) }
        XCTAssert(huge.allSatisfy { $0 >= 0 && $0 < Int.max })
        XCTAssert(huge.contains { $0 > Int.max / 2 })
        // Bounds just above a power of two stress the rejection step: results must stay in range.
        let bound = (1 << 62) + 1
        XCTAssert((0 ..< 1000).allSatisfy { _ in generator.int(below: bound) < bound })
    }

    func testPermutationIsAPermutationAndVaries() {
        var generator = SeededGenerator(seed: 10)
        let first = generator.permutation(count: 1000)
        let second = generator.permutation(count: 1000)
        XCTAssertEqual(first.sorted(), Array(0 ..< 1000))
        XCTAssertEqual(second.sorted(), Array(0 ..< 1000))
        XCTAssertNotEqual(first, second)
        XCTAssertNotEqual(first, Array(0 ..< 1000))
        XCTAssertEqual(generator.permutation(count: 0), [])
        XCTAssertEqual(generator.permutation(count: 1), [0])
        // Every element lands in every position about equally often.
        var firstPositionCounts = [Int](repeating: 0, count: 4)
        for _ in 0 ..< 40_000 { firstPositionCounts[generator.permutation(count: 4)[0]] += 1 }
        for count in firstPositionCounts { XCTAssertEqual(Double(count), 10_000, accuracy: 500) }
    }

    func testSameSeedSameStreamAndForkIsIndependent() {
        var a = SeededGenerator(seed: 11)
        var b = SeededGenerator(seed: 11)
        XCTAssertEqual((0 ..< 100).map { _ in a.next() }, (0 ..< 100).map { _ in b.next() })
        var c = SeededGenerator(seed: 12)
        XCTAssertNotEqual(a.next(), c.next())

        var parent = SeededGenerator(seed: 13)
        var twin = SeededGenerator(seed: 13)
        var child = parent.fork()
        var twinChild = twin.fork()
        let childStream = (0 ..< 100).map { _ in child.next() }
        XCTAssertEqual(childStream, (0 ..< 100).map { _ in twinChild.next() }, "fork is not deterministic")
        let parentStream = (0 ..< 100).map { _ in parent.next() }
        XCTAssertTrue(Set(childStream).isDisjoint(with: parentStream), "forked stream overlaps its parent")
    }
}
