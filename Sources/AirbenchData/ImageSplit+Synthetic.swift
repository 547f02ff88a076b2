extension ImageSplit {
    /// Random pixels and random labels 0–9, for warm-up runs and tests that need no real data.
    public static func synthetic(count: Int, seed: UInt64) -> ImageSplit {
        precondition(count >= 0, "synthetic split needs a non-negative count, got \(count)")
        var generator = SeededGenerator(seed: seed)
        var images = [UInt8](repeating: 0, count: count * bytesPerImage)
        images.withUnsafeMutableBytes { bytes in
            // Eight pixel bytes per draw: filling 150 MB one byte per draw would be needlessly slow.
            var offset = 0
            while offset < bytes.count {
                var word = generator.next()
                let end = min(offset + 8, bytes.count)
                while offset < end {
                    bytes[offset] = UInt8(truncatingIfNeeded: word)
                    word >>= 8
                    offset += 1
                }
            }
        }
        let labels = (0 ..< count).map { _ in UInt8(generator.int(below: CIFAR10.classNames.count)) }
        return ImageSplit(images: images, labels: labels)
    }
}
