import AirbenchData
import AirbenchKernels

/// The frozen patch-whitening initialisation of the first layer (paper Section 3.2, Listing 4
/// `init_whitening_conv`): the covariance of all k×k×c patches of the given images (uncentred, as Listing 4),
/// its eigendecomposition, and the filters [V/√(λ+ε), −V/√(λ+ε)], eigenvalues descending.
public enum Whitening {
    /// Returns (eigenvalues descending, weights 2d×c×k×k OIHW with d = c·k²) for `count` normalised NHWC
    /// images of size `input` (airbench94: 24×3×2×2 from 32×32×3 images).
    public static func parameters(images: UnsafePointer<Float>, count: Int, epsilon: Double,
                                  input: NetworkSpec.Input = .cifar, kernelSize: Int = 2)
        -> (eigenvalues: [Double], weights: [Float]) {
        let d = input.channels * kernelSize * kernelSize
        let covariance = patchCovariance(images: images, count: count, input: input, kernelSize: kernelSize)
        let (values, vectors) = symmetricEigen(covariance, size: d)
        var eigenvalues = [Double](), weights = [Float](repeating: 0, count: 2 * d * d)
        for filter in 0..<d {
            let column = d - 1 - filter  // ascending → descending
            eigenvalues.append(values[column])
            let scale = 1 / (values[column] + epsilon).squareRoot()
            for i in 0..<d {
                let v = vectors[i * d + column] * scale
                weights[filter * d + i] = Float(v)
                weights[(filter + d) * d + i] = Float(-v)
            }
        }
        return (eigenvalues, weights)
    }

    /// Sets the whitening weights of `networks` (airbench96_faster: the main network and its proxy share them)
    /// from the first `h.whiteningImages` training images of `data`.
    static func initialize(_ networks: [Network], data: Dataset, hyperparameters h: Hyperparameters) {
        let split = data.train.subset(Array(0..<min(h.whiteningImages, data.train.count)))
        let images = CifarLoader.normalizedImages(split, normalization: data.normalization)
        let spec = networks[0].spec
        let whitening = images.withUnsafeBufferPointer {
            parameters(images: $0.baseAddress!, count: split.count, epsilon: h.whiteningEpsilon, input: spec.input,
                       kernelSize: spec.whiteningLayer.kernelSize)
        }
        for network in networks { network.state.set(network.whiteningWeight, whitening.weights) }
    }

    /// (1/n)·PᵀP over all n = count·(H−k+1)·(W−k+1) patches, each flattened as (channel, ky, kx) like the OIHW
    /// filters.
    static func patchCovariance(images: UnsafePointer<Float>, count: Int, input: NetworkSpec.Input = .cifar,
                                kernelSize k: Int = 2) -> [Double] {
        let (height, width, channels) = (input.height, input.width, input.channels)
        let d = channels * k * k, outHeight = height - k + 1, outWidth = width - k + 1
        var sum = [Double](repeating: 0, count: d * d)
        // On raw pointers rather than checked arrays: a serial pass inside every run's timing (0.5 s of a Zen 3's
        // 40-step run by a perf profile, with arrays). The same sums in the same order.
        sum.withUnsafeMutableBufferPointer { sum in
            let patch = UnsafeMutablePointer<Double>.allocate(capacity: d)
            defer { patch.deallocate() }
            for n in 0..<count {
                let image = images + n * input.pixels
                // Per-image sums in Float would lose precision over 961 patches; accumulate each image in Double.
                for y in 0..<outHeight {
                    for x in 0..<outWidth {
                        for c in 0..<channels {
                            for ky in 0..<k {
                                for kx in 0..<k {
                                    patch[(c * k + ky) * k + kx] = Double(image[((y + ky) * width + x + kx) * channels + c])
                                }
                            }
                        }
                        for i in 0..<d {
                            for j in i..<d { sum[i * d + j] += patch[i] * patch[j] }
                        }
                    }
                }
            }
        }
        let n = Double(count * outHeight * outWidth)
        for i in 0..<d {
            for j in i..<d {
                sum[i * d + j] /= n
                sum[j * d + i] = sum[i * d + j]
            }
        }
        return sum
    }
}
