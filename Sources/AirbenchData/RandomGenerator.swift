/// A small, fast, seedable random number generator: xoshiro256** seeded through splitmix64.
///
/// Every random choice in the data path (synthetic data, flips, shifts, cutout, shuffles) is drawn
/// from one of these, so a run is reproducible bit for bit from its seed on every platform,
/// unlike `SystemRandomNumberGenerator`.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    /// Creates a generator whose whole stream is determined by `seed`.
    ///
    /// The seed is expanded with splitmix64, as the xoshiro authors recommend, so that nearby
    /// seeds (0, 1, 2, …) still give unrelated streams and the state is never all zero.
    public init(seed: UInt64) {
        var mixer = seed
        func splitMix() -> UInt64 {
            mixer &+= 0x9E37_79B9_7F4A_7C15
            var z = mixer
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    /// Returns the next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = rotateLeft(state.1 &* 5, by: 7) &* 9
        let shifted = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= shifted
        state.3 = rotateLeft(state.3, by: 45)
        return result
    }

    /// Returns a uniform `Float` in [0, 1) built from 24 random bits, so every value is exactly representable.
    public mutating func uniformFloat() -> Float {
        Float(next() >> 40) * 0x1p-24
    }

    /// Returns a uniform `Double` in [0, 1) built from 53 random bits.
    public mutating func uniformDouble() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// Returns a uniform integer in `0 ..< bound` without modulo bias (Lemire's multiply-and-reject method).
    public mutating func int(below bound: Int) -> Int {
        precondition(bound > 0, "int(below:) needs a positive bound, got \(bound)")
        let range = UInt64(bound)
        var product = next().multipliedFullWidth(by: range)
        if product.low < range {
            // Values below this threshold would make some results one draw more likely than others.
            let threshold = (0 &- range) % range
            while product.low < threshold {
                product = next().multipliedFullWidth(by: range)
            }
        }
        return Int(product.high)
    }

    /// Returns a uniformly random ordering of `0 ..< count` (Fisher–Yates).
    public mutating func permutation(count: Int) -> [Int] {
        var order = Array(0 ..< count)
        var position = count - 1
        while position > 0 {
            order.swapAt(position, int(below: position + 1))
            position -= 1
        }
        return order
    }

    /// Derives an independent generator, advancing this one by a single draw.
    ///
    /// Useful to give a subsystem its own stream so that adding draws there does not shift
    /// the draws seen everywhere else.
    public mutating func fork() -> SeededGenerator {
        SeededGenerator(seed: next())
    }

    private func rotateLeft(_ value: UInt64, by amount: UInt64) -> UInt64 {
        (value << amount) | (value >> (64 - amount))
    }
}
