// Eigendecomposition of a small real symmetric matrix, for the patch-whitening initialisation
// (the 12×12 covariance of 2×2×3 image patches, where the reference calls torch.linalg.eigh).

/// Computes all eigenvalues and eigenvectors of the symmetric `size`×`size` matrix `matrix`
/// (row-major) with the cyclic Jacobi method in `Double`.
///
/// Only the upper triangle is read, as `torch.linalg.eigh(A, UPLO='U')` does, so a matrix that is
/// symmetric only up to rounding gives the same result as its exact upper-triangle mirror.
///
/// Jacobi is chosen over tridiagonalisation + QR because the matrices here are tiny, it is short
/// enough to verify by eye, and it finds small eigenvalues to high relative accuracy — which
/// matters because whitening divides by the square roots of the smallest ones.
///
/// - Parameters:
///   - matrix: `size * size` entries, row-major; entry `(i, j)` is `matrix[i * size + j]`.
///   - size: the dimension `n`.
/// - Returns: `eigenvalues` in ascending order (as `torch.linalg.eigh`), and `eigenvectors` as the
///   columns of a row-major `n`×`n` matrix: `eigenvectors[i * n + j]` is component `i` of the unit
///   eigenvector for `eigenvalues[j]`. An eigenvector's sign is not determined by the mathematics;
///   each is scaled so that its largest-magnitude component (the first, on ties) is positive, which
///   makes results reproducible but need not match LAPACK's signs.
public func symmetricEigen(_ matrix: [Double], size n: Int) -> (eigenvalues: [Double], eigenvectors: [Double]) {
    precondition(n >= 0, "Matrix size must not be negative")
    precondition(matrix.count == n * n, "Expected \(n * n) entries for a \(n)×\(n) matrix, got \(matrix.count)")

    // Working copy, symmetrised from the upper triangle.
    var a = matrix
    for row in 0..<n {
        for column in 0..<row {
            a[row * n + column] = a[column * n + row]
        }
    }
    var vectors = [Double](repeating: 0, count: n * n)
    for index in 0..<n { vectors[index * n + index] = 1 }

    // Entries below this are negligible even in absolute terms (they move eigenvalues by far less
    // than rounding does); without it, a zero eigenvalue would leave the relative test below with
    // nothing to compare against and rounding noise would be rotated forever.
    // (The largest entry stands in for the norm because squaring entries could overflow.)
    let largestEntry = a.reduce(0) { max($0, abs($1)) }
    let negligible = Double.ulpOfOne * Double.ulpOfOne * largestEntry

    // Each sweep rotates every off-diagonal pair once. Convergence is quadratic, so a well-scaled
    // 12×12 finishes in well under ten sweeps; the cap only guards against non-finite input.
    let maximumSweeps = 100
    for _ in 0..<maximumSweeps {
        var rotated = false
        for p in 0..<n {
            for q in (p + 1)..<n {
                let apq = a[p * n + q]
                if apq == 0 { continue }
                let app = a[p * n + p]
                let aqq = a[q * n + q]
                // An entry this small relative to its diagonal entries no longer moves any eigenvalue
                // in the last bit (the relative criterion of Demmel & Veselić), so drop it.
                if abs(apq) <= Double.ulpOfOne * (abs(app) * abs(aqq)).squareRoot()
                    || abs(apq) <= negligible || abs(apq) < Double.leastNormalMagnitude {
                    a[p * n + q] = 0
                    a[q * n + p] = 0
                    continue
                }
                rotated = true
                applyRotation(&a, &vectors, size: n, p: p, q: q, apq: apq, app: app, aqq: aqq)
            }
        }
        if !rotated { break }
    }

    // Sort ascending, carrying the eigenvector columns along; the stable sort keeps equal
    // eigenvalues in index order so the output is deterministic.
    let diagonal = (0..<n).map { a[$0 * n + $0] }
    let order = (0..<n).sorted { diagonal[$0] < diagonal[$1] || (diagonal[$0] == diagonal[$1] && $0 < $1) }
    var eigenvalues = [Double](repeating: 0, count: n)
    var eigenvectors = [Double](repeating: 0, count: n * n)
    for (column, source) in order.enumerated() {
        eigenvalues[column] = diagonal[source]
        var pivot = 0
        for row in 0..<n where abs(vectors[row * n + source]) > abs(vectors[pivot * n + source]) {
            pivot = row
        }
        let sign: Double = vectors[pivot * n + source] < 0 ? -1 : 1
        for row in 0..<n {
            eigenvectors[row * n + column] = sign * vectors[row * n + source]
        }
    }
    return (eigenvalues, eigenvectors)
}

/// Applies the Jacobi rotation in the (p, q) plane that zeroes `a[p, q]`, updating the symmetric
/// matrix in place and accumulating the rotation into the columns of `vectors`.
private func applyRotation(
    _ a: inout [Double], _ vectors: inout [Double], size n: Int,
    p: Int, q: Int, apq: Double, app: Double, aqq: Double
) {
    // t = tan φ for the rotation angle φ with cot 2φ = (aqq − app) / (2 apq); the smaller root keeps
    // |φ| ≤ π/4, which is what makes the cyclic method converge. Computed this way (Rutishauser)
    // to avoid cancellation; for huge θ, θ² would overflow, and t ≈ 1 / (2θ) is exact enough.
    let theta = (aqq - app) / (2 * apq)
    let t: Double
    if abs(theta) > 1e150 {
        t = 1 / (2 * theta)
    } else {
        let magnitude = 1 / (abs(theta) + (theta * theta + 1).squareRoot())
        t = theta < 0 ? -magnitude : magnitude
    }
    let c = 1 / (t * t + 1).squareRoot()
    let s = t * c

    a[p * n + p] = app - t * apq
    a[q * n + q] = aqq + t * apq
    a[p * n + q] = 0
    a[q * n + p] = 0
    for k in 0..<n where k != p && k != q {
        let akp = a[k * n + p]
        let akq = a[k * n + q]
        let newKP = c * akp - s * akq
        let newKQ = s * akp + c * akq
        a[k * n + p] = newKP
        a[p * n + k] = newKP
        a[k * n + q] = newKQ
        a[q * n + k] = newKQ
    }
    for k in 0..<n {
        let vkp = vectors[k * n + p]
        let vkq = vectors[k * n + q]
        vectors[k * n + p] = c * vkp - s * vkq
        vectors[k * n + q] = s * vkp + c * vkq
    }
}
