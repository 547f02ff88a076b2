/// Per-channel normalisation of image bytes: `(byte / 255 − mean[c]) / std[c]` (Listing 4's `CIFAR_MEAN`,
/// `CIFAR_STD` and the loader's `normalize`).
public struct Normalization: Sendable, Equatable, Codable {
    /// Mean of each channel (R, G, B) on the 0–1 scale.
    public var mean: [Float]
    /// Standard deviation of each channel (R, G, B) on the 0–1 scale.
    public var std: [Float]

    public init(mean: [Float], std: [Float]) {
        precondition(mean.count == 3 && std.count == 3, "normalisation needs three means and three deviations")
        precondition(std.allSatisfy { $0 > 0 }, "normalisation needs positive deviations, got \(std)")
        self.mean = mean
        self.std = std
    }

    /// The paper's CIFAR-10 statistics (Listing 4 `CIFAR_MEAN`, `CIFAR_STD`).
    public static let cifar10 = Normalization(mean: [0.4914, 0.4822, 0.4465], std: [0.2470, 0.2435, 0.2616])

    /// The per-channel mean and population standard deviation of every pixel of `split`, on the 0–1 scale
    /// (a deviation of 0 becomes 1), summed exactly in integers (a 256-bin histogram per channel), so the result does not depend on order.
    public static func computed(from split: ImageSplit) -> Normalization {
        precondition(split.count > 0, "cannot compute normalisation statistics of an empty split")
        var histogram = [Int](repeating: 0, count: 3 * 256)
        split.images.withUnsafeBufferPointer { bytes in
            histogram.withUnsafeMutableBufferPointer { counts in
                for offset in stride(from: 0, to: bytes.count, by: 3) {
                    counts[Int(bytes[offset])] += 1
                    counts[256 + Int(bytes[offset + 1])] += 1
                    counts[512 + Int(bytes[offset + 2])] += 1
                }
            }
        }
        var mean = [Float](), std = [Float]()
        for channel in 0..<3 {
            var n = 0, sum = 0, squares = 0
            for byte in 0..<256 {
                let count = histogram[channel * 256 + byte]
                n += count
                sum += count * byte
                squares += count * byte * byte
            }
            let average = Double(sum) / Double(n)
            let variance = Double(squares) / Double(n) - average * average
            mean.append(Float(average / 255))
            // A channel without spread (a degenerate data set) is only centred, not divided by zero.
            std.append(variance > 0 ? Float(variance.squareRoot() / 255) : 1)
        }
        return Normalization(mean: mean, std: std)
    }

    /// The largest absolute difference between the means and deviations of `self` and `other`.
    public func distance(to other: Normalization) -> Float {
        zip(mean + std, other.mean + other.std).map { abs($0 - $1) }.max() ?? 0
    }

    /// `(Float(byte) / 255 - mean[c]) / std[c]` for every byte, channel-major: entry `c * 256 + byte`.
    /// Computed in Float in exactly this order, so table lookups equal the formula bit for bit.
    public var table: [Float] {
        (0..<3).flatMap { channel in
            (0..<256).map { byte in (Float(byte) / 255 - mean[channel]) / std[channel] }
        }
    }
}
