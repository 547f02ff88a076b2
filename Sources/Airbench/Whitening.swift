import AirbenchKernels

/// The frozen patch-whitening initialisation of the first layer (paper Section 3.2, Listing 4
/// `init_whitening_conv`): the covariance of all 2×2×3 patches of the given images (uncentred, as Listing 4),
/// its eigendecomposition, and the filters [V/√(λ+ε), −V/√(λ+ε)], eigenvalues descending.
public enum Whitening {
    /// Returns (eigenvalues descending, weights 24×3×2×2 OIHW) for `count` normalised NHWC 32×32×3 images.
    public static func parameters(images: UnsafePointer<Float>, count: Int, epsilon: Double)
        -> (eigenvalues: [Double], weights: [Float]) {
        let covariance = patchCovariance(images: images, count: count)
        let (values, vectors) = symmetricEigen(covariance, size: 12)
        var eigenvalues = [Double](), weights = [Float](repeating: 0, count: 24 * 12)
        for filter in 0..<12 {
            let column = 11 - filter  // ascending → descending
            eigenvalues.append(values[column])
            let scale = 1 / (values[column] + epsilon).squareRoot()
            for i in 0..<12 {
                let v = vectors[i * 12 + column] * scale
                weights[filter * 12 + i] = Float(v)
                weights[(filter + 12) * 12 + i] = Float(-v)
            }
        }
        return (eigenvalues, weights)
    }

    /// (1/n)·PᵀP over all n = count·31·31 patches, each flattened as (channel, ky, kx) like the OIHW filters.
    static func patchCovariance(images: UnsafePointer<Float>, count: Int) -> [Double] {
        var sum = [Double](repeating: 0, count: 144)
        var patch = [Float](repeating: 0, count: 12)
        for n in 0..<count {
            let image = images + n * 32 * 32 * 3
            // Per-image sums in Float would lose precision over 961 patches; accumulate each image in Double.
            for y in 0..<31 {
                for x in 0..<31 {
                    for c in 0..<3 {
                        for ky in 0..<2 {
                            for kx in 0..<2 { patch[c * 4 + ky * 2 + kx] = image[((y + ky) * 32 + x + kx) * 3 + c] }
                        }
                    }
                    for i in 0..<12 {
                        let pi = Double(patch[i])
                        for j in i..<12 { sum[i * 12 + j] += pi * Double(patch[j]) }
                    }
                }
            }
        }
        let n = Double(count * 31 * 31)
        for i in 0..<12 {
            for j in i..<12 {
                sum[i * 12 + j] /= n
                sum[j * 12 + i] = sum[i * 12 + j]
            }
        }
        return sum
    }
}
