import Airbench
import Foundation
import XCTest

final class SymmetricEigenTests: XCTestCase {
    /// A fixed-seed generator (SplitMix64) so the random matrices are the same on every run.
    private struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Checks the defining properties: ascending eigenvalues, orthonormal columns and A = V Λ Vᵀ,
    /// with errors relative to the largest entry of A.
    private func assertValidDecomposition(
        _ matrix: [Double], size n: Int, tolerance: Double = 1e-12, file: StaticString = #filePath, line: UInt = #line
    ) {
        let (values, vectors) = symmetricEigen(matrix, size: n)
        XCTAssertEqual(values.count, n, file: file, line: line)
        XCTAssertEqual(vectors.count, n * n, file: file, line: line)
        for index in 1..<max(1, n) {
            XCTAssertLessThanOrEqual(values[index - 1], values[index], "eigenvalues not ascending", file: file, line: line)
        }
        let scale = max(matrix.map(abs).max() ?? 0, 1e-300)
        var worstOrthogonality = 0.0
        var worstReconstruction = 0.0
        for i in 0..<n {
            for j in 0..<n {
                var dot = 0.0
                var reconstructed = 0.0
                for k in 0..<n {
                    dot += vectors[k * n + i] * vectors[k * n + j]
                    reconstructed += vectors[i * n + k] * values[k] * vectors[j * n + k]
                }
                worstOrthogonality = max(worstOrthogonality, abs(dot - (i == j ? 1 : 0)))
                // The reconstruction is compared with the upper triangle, which is what is read.
                let original = i <= j ? matrix[i * n + j] : matrix[j * n + i]
                worstReconstruction = max(worstReconstruction, abs(reconstructed - original) / scale)
            }
        }
        XCTAssertLessThan(worstOrthogonality, tolerance, "VᵀV ≠ I", file: file, line: line)
        XCTAssertLessThan(worstReconstruction, tolerance, "V Λ Vᵀ ≠ A", file: file, line: line)
    }

    func testEmptyAndOneByOne() {
        let empty = symmetricEigen([], size: 0)
        XCTAssertEqual(empty.eigenvalues, [])
        XCTAssertEqual(empty.eigenvectors, [])
        let single = symmetricEigen([-3.5], size: 1)
        XCTAssertEqual(single.eigenvalues, [-3.5])
        XCTAssertEqual(single.eigenvectors, [1])
    }

    func testDiagonalMatrixIsSortedWithPermutedUnitVectors() {
        let (values, vectors) = symmetricEigen([3, 0, 0, 0, -1, 0, 0, 0, 2], size: 3)
        XCTAssertEqual(values, [-1, 2, 3])
        // Column j is the unit vector of the original position of the j-th smallest value.
        XCTAssertEqual(vectors, [0, 0, 1, 1, 0, 0, 0, 1, 0])
    }

    func testTwoByTwoKnownCase() {
        // [[2, 1], [1, 2]] has eigenvalues 1 and 3 with eigenvectors (1, −1)/√2 and (1, 1)/√2.
        let (values, vectors) = symmetricEigen([2, 1, 1, 2], size: 2)
        XCTAssertEqual(values[0], 1, accuracy: 1e-15)
        XCTAssertEqual(values[1], 3, accuracy: 1e-15)
        let half = 0.5.squareRoot()
        // Signs follow the documented convention: the largest component (the first, on ties) is positive.
        XCTAssertEqual(vectors[0], half, accuracy: 1e-15)
        XCTAssertEqual(vectors[2], -half, accuracy: 1e-15)
        XCTAssertEqual(vectors[1], half, accuracy: 1e-15)
        XCTAssertEqual(vectors[3], half, accuracy: 1e-15)
    }

    func testOnlyUpperTriangleIsRead() {
        // The lower triangle holds garbage; the answer must be that of [[0, 1], [1, 0]].
        let (values, _) = symmetricEigen([0, 1, 99, 0], size: 2)
        XCTAssertEqual(values[0], -1, accuracy: 1e-15)
        XCTAssertEqual(values[1], 1, accuracy: 1e-15)
    }

    func testRepeatedEigenvalues() {
        // Q diag(2, 2, 2, 5) Qᵀ for a rotation Q: a three-fold eigenvalue whose eigenvectors are
        // only determined up to a rotation within their eigenspace.
        let n = 4
        let q = householder(normal: [1, 2, -1, 0.5])
        let matrix = conjugate(diagonal: [2, 5, 2, 2], by: q, size: n)
        let (values, _) = symmetricEigen(matrix, size: n)
        for (value, expected) in zip(values, [2.0, 2, 2, 5]) {
            XCTAssertEqual(value, expected, accuracy: 1e-14)
        }
        assertValidDecomposition(matrix, size: n)

        // The identity and the zero matrix are already diagonal and must come back unchanged.
        let identity = symmetricEigen([1, 0, 0, 0, 1, 0, 0, 0, 1], size: 3)
        XCTAssertEqual(identity.eigenvalues, [1, 1, 1])
        XCTAssertEqual(identity.eigenvectors, [1, 0, 0, 0, 1, 0, 0, 0, 1])
        XCTAssertEqual(symmetricEigen([Double](repeating: 0, count: 9), size: 3).eigenvalues, [0, 0, 0])
    }

    func testKnownSpectrumIsRecoveredIncludingTinyEigenvalues() {
        // Whitening divides by √λ of the smallest eigenvalues, so they must be accurate too.
        let n = 6
        let spectrum = [1e-9, 3e-6, 0.25, 1, 7, 40]
        let q = householder(normal: [0.3, -1, 2, 0.7, -0.2, 1.1])
        let (values, _) = symmetricEigen(conjugate(diagonal: spectrum, by: q, size: n), size: n)
        for (value, expected) in zip(values, spectrum) {
            XCTAssertEqual(value, expected, accuracy: 1e-13 * 40)
        }
    }

    func testRandomTwelveByTwelve() {
        var generator = SplitMix64(state: 42)
        for _ in 0..<20 {
            let n = 12
            var matrix = [Double](repeating: 0, count: n * n)
            for i in 0..<n {
                for j in i..<n {
                    let value = Double.random(in: -1...1, using: &generator)
                    matrix[i * n + j] = value
                    matrix[j * n + i] = value
                }
            }
            assertValidDecomposition(matrix, size: n)
        }
    }

    func testRandomCovarianceLikeTwelveByTwelve() {
        // Shaped like the whitening input: XᵀX / m for m correlated 12-dimensional patches.
        var generator = SplitMix64(state: 7)
        let n = 12
        let samples = 500
        var covariance = [Double](repeating: 0, count: n * n)
        for _ in 0..<samples {
            let shared = Double.random(in: -1...1, using: &generator)
            let patch = (0..<n).map { _ in shared + 0.05 * Double.random(in: -1...1, using: &generator) }
            for i in 0..<n {
                for j in 0..<n { covariance[i * n + j] += patch[i] * patch[j] / Double(samples) }
            }
        }
        assertValidDecomposition(covariance, size: n)
        let (values, _) = symmetricEigen(covariance, size: n)
        XCTAssertGreaterThan(values[0], 0, "a covariance of full-rank samples is positive definite")
    }

    func testBadlyScaledEntries() {
        // Very large and very small magnitudes must neither overflow nor stall the iteration.
        assertValidDecomposition([1e150, 1e149, 1e149, 1e148], size: 2)
        assertValidDecomposition([1e-150, 1e-151, 1e-151, 3e-150], size: 2)
    }

    func testMatchesTorchOnFixtureCovariance() throws {
        // whiten.covariance is the 12×12 patch covariance of the network fixture, and whiten.weight
        // is Listing 4's init_whitening_conv result from torch.linalg.eigh on it: rows 0..<12 are
        // eigenvectors (descending eigenvalue) divided by √(λ + 5e-4), rows 12..<24 their negatives.
        let url = try XCTUnwrap(
            Bundle.module.url(forResource: "airbench94_small", withExtension: "safetensors", subdirectory: "Fixtures"))
        let fixture = try SafetensorsFile.read(from: url)
        let n = 12
        let covariance = try fixture.floats("whiten.covariance").map(Double.init)
        let torchEigenvalues = try fixture.floats("whiten.eigenvalues")
        let torchWeight = try fixture.floats("whiten.weight")

        let (values, vectors) = symmetricEigen(covariance, size: n)
        for row in 0..<n {
            let column = n - 1 - row  // descending, like Listing 4's flip(0)
            XCTAssertEqual(Float(values[column]), torchEigenvalues[row], accuracy: 1e-5 * torchEigenvalues[0])
            let scale = 1 / (values[column] + 5e-4).squareRoot()
            let ours = (0..<n).map { Float(vectors[$0 * n + column] * scale) }
            let theirs = Array(torchWeight[(row * n)..<((row + 1) * n)])
            XCTAssertEqual(Array(torchWeight[((row + n) * n)..<((row + n + 1) * n)]), theirs.map { -$0 })
            // An eigenvector's sign is arbitrary, so compare up to sign. Float32 eigh on close
            // eigenvalues (gaps ≈ 0.003) only pins the vectors to about 1e-4.
            let sign: Float = zip(ours, theirs).reduce(0) { $0 + $1.0 * $1.1 } < 0 ? -1 : 1
            for (a, b) in zip(ours, theirs) {
                XCTAssertEqual(sign * a, b, accuracy: Float(1e-3 * scale), "eigenvector \(row)")
            }
        }
    }

    // MARK: - Helpers

    /// The Householder reflection I − 2 v vᵀ / (vᵀ v), an orthogonal (and symmetric) matrix.
    private func householder(normal v: [Double]) -> [Double] {
        let n = v.count
        let norm2 = v.reduce(0) { $0 + $1 * $1 }
        var h = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0..<n { h[i * n + j] = (i == j ? 1 : 0) - 2 * v[i] * v[j] / norm2 }
        }
        return h
    }

    /// Q diag(d) Qᵀ.
    private func conjugate(diagonal d: [Double], by q: [Double], size n: Int) -> [Double] {
        var result = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0..<n {
                var sum = 0.0
                for k in 0..<n { sum += q[i * n + k] * d[k] * q[j * n + k] }
                result[i * n + j] = sum
            }
        }
        return result
    }
}
