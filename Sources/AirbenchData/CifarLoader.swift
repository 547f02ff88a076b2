/// The airbench data loader (the paper's `CifarLoader`, Listing 4): normalisation, alternating or
/// random flip, reflection-padded random translation, optional brightness/contrast jitter (hiverge) and
/// cutout, shuffling and batching.
///
/// Images stay `UInt8`; each batch is normalised while it is copied out, through a 256-entry table
/// per channel. The paper's first-epoch flip and reflection padding are not materialised either:
/// a per-image flip bit and a mirrored index map give exactly the same pixels without another
/// copy of the training set.
///
/// Random draws, all from one `SeededGenerator(seed:)`, happen in `startEpoch()` in this order:
/// first-epoch alternating flips (first epoch only), translations (dy then dx per image), random
/// flips, cutout corners (row then column per image), jitter (brightness then contrast per image),
/// then the shuffle permutation. Each is drawn only when its augmentation is on. The same seed
/// therefore gives bit-identical batches.
///
/// Thread safety: `fillBatch` only reads, so different batches of one epoch may be filled on
/// different threads at once; `startEpoch()` must not overlap any `fillBatch` call.
public final class CifarLoader: @unchecked Sendable {
    /// The order in which an epoch visits the images (paper Table 1).
    public enum Order: String, Sendable, Equatable, Codable, CaseIterable {
        /// A fresh random permutation every epoch (random reshuffling).
        case reshuffle
        /// Every position drawn uniformly with replacement, every epoch.
        case withReplacement = "replacement"
        /// One random permutation drawn at the first epoch and kept for all epochs.
        case fixed
        /// The images in their stored order, every epoch.
        case sequential
    }

    /// The images and labels served.
    public let split: ImageSplit
    /// Images per full batch.
    public let batchSize: Int
    /// What is done to images each epoch.
    public let augmentation: Augmentation
    /// The order in which each epoch visits the images.
    public let order: Order
    /// Whether each epoch visits the images in a fresh random order.
    public var shuffle: Bool { order == .reshuffle }
    /// Whether a final batch smaller than `batchSize` is left out.
    public let dropLast: Bool
    /// Number of epochs started so far (the epoch being served is `epoch - 1`).
    public private(set) var epoch = 0

    private var generator: SeededGenerator
    /// The alternating mode's first-epoch flip of each image, kept for all later epochs.
    private var baseFlips: [Bool]
    /// This epoch's additional flip of each image (alternating: all or none; random: fresh draws).
    private var epochFlips: [Bool]
    /// This epoch's translation of each image: dy, dx interleaved.
    private var shifts: [Int32]
    /// This epoch's cutout corner of each image: row, column interleaved.
    private var cutoutCorners: [Int32]
    /// This epoch's brightness/contrast jitter of each image: shift b, scale k interleaved (empty when off).
    private var jitter: [Float]
    /// This epoch's visiting order.
    private var visits: [Int]

    private static let side = ImageSplit.imageSide
    private static let channels = ImageSplit.channels
    private static let floatsPerImage = ImageSplit.bytesPerImage

    /// The data set's per-channel statistics, and the 256-entry lookup table per channel made from them.
    public let normalization: Normalization
    private let normalizationTable: [Float]

    /// Creates a loader; no randomness is drawn until `startEpoch()`.
    ///
    /// - Parameters:
    ///   - split: the images to serve.
    ///   - batchSize: images per batch (> 0).
    ///   - augmentation: flips, translation (0 ... 31 pixels) and cutout (0 ... 32 pixels).
    ///   - shuffle: visit images in a fresh random order each epoch (else in stored order).
    ///   - dropLast: leave out a final short batch.
    ///   - seed: seeds every random choice of this loader.
    ///   - normalization: the data set's channel statistics (the paper's CIFAR-10 values by default).
    public convenience init(
        split: ImageSplit, batchSize: Int, augmentation: Augmentation = .none, shuffle: Bool, dropLast: Bool,
        seed: UInt64, normalization: Normalization = .cifar10
    ) {
        self.init(split: split, batchSize: batchSize, augmentation: augmentation, order: shuffle ? .reshuffle : .sequential,
                  dropLast: dropLast, seed: seed, normalization: normalization)
    }

    /// Creates a loader visiting the images in `order`; no randomness is drawn until `startEpoch()`.
    public init(
        split: ImageSplit, batchSize: Int, augmentation: Augmentation = .none, order: Order, dropLast: Bool,
        seed: UInt64, normalization: Normalization = .cifar10
    ) {
        precondition(batchSize > 0, "batch size must be positive, got \(batchSize)")
        // Reflection padding repeats no edge pixel, so it cannot reach further than the image is wide.
        precondition((0 ..< Self.side).contains(augmentation.translate),
                     "translate must be in 0...\(Self.side - 1), got \(augmentation.translate)")
        precondition((0 ... Self.side).contains(augmentation.cutout),
                     "cutout must be in 0...\(Self.side), got \(augmentation.cutout)")
        self.split = split
        self.batchSize = batchSize
        self.augmentation = augmentation
        self.order = order
        self.dropLast = dropLast
        generator = SeededGenerator(seed: seed)
        self.normalization = normalization
        normalizationTable = normalization.table
        baseFlips = [Bool](repeating: false, count: split.count)
        epochFlips = [Bool](repeating: false, count: split.count)
        shifts = [Int32](repeating: 0, count: 2 * split.count)
        cutoutCorners = []
        jitter = []
        visits = Array(0 ..< split.count)
    }

    /// Batches per epoch: `count / batchSize` when dropping the last short batch, else rounded up.
    public var batchCount: Int {
        dropLast ? split.count / batchSize : (split.count + batchSize - 1) / batchSize
    }

    /// This epoch's brightness/contrast jitter of image `image` (its index in `split`): x ← (x + shift)·scale;
    /// (0, 1) when there is none.
    public func brightnessContrast(image: Int) -> (shift: Float, scale: Float) {
        jitter.isEmpty ? (0, 1) : (jitter[2 * image], jitter[2 * image + 1])
    }

    /// Draws the next epoch's flips, translations, cutouts, jitter and order, and advances `epoch`.
    public func startEpoch() {
        let count = split.count
        if epoch == 0 && augmentation.flip == .alternating {
            baseFlips = (0 ..< count).map { _ in generator.uniformFloat() < 0.5 }
        }
        let radius = augmentation.translate
        if radius > 0 {
            for index in 0 ..< 2 * count {
                shifts[index] = Int32(generator.int(below: 2 * radius + 1) - radius)
            }
        }
        switch augmentation.flip {
        case .none:
            break
        case .alternating:
            epochFlips = [Bool](repeating: epoch % 2 == 1, count: count)
        case .random:
            epochFlips = (0 ..< count).map { _ in generator.uniformFloat() < 0.5 }
        }
        let cutout = augmentation.cutout
        if cutout > 0 {
            cutoutCorners = (0 ..< 2 * count).map { _ in Int32(generator.int(below: Self.side - cutout + 1)) }
        }
        if augmentation.jitters {
            let brightness = Float(augmentation.brightness), contrast = Float(augmentation.contrast)
            jitter = []
            jitter.reserveCapacity(2 * count)
            for _ in 0 ..< count {
                jitter.append((2 * generator.uniformFloat() - 1) * brightness)
                jitter.append(1 + (2 * generator.uniformFloat() - 1) * contrast)
            }
        }
        switch order {
        case .reshuffle: visits = generator.permutation(count: count)
        case .withReplacement: visits = (0 ..< count).map { _ in generator.int(below: count) }
        case .fixed: if epoch == 0 { visits = generator.permutation(count: count) }
        case .sequential: break
        }
        epoch += 1
    }

    /// Writes batch `index` of the current epoch: normalised, augmented images as NHWC floats
    /// (n × 32 × 32 × 3) and their labels. `images` must hold `batchSize × 3,072` floats and
    /// `labels` `batchSize` values.
    ///
    /// - Returns: n, the number of images in the batch (less than `batchSize` only for a final short batch).
    @discardableResult
    public func fillBatch(_ index: Int, images: UnsafeMutablePointer<Float>, labels: UnsafeMutablePointer<Int32>) -> Int {
        precondition((0 ..< batchCount).contains(index), "batch \(index) is outside 0..<\(batchCount)")
        let start = index * batchSize
        let imageCount = min(batchSize, split.count - start)
        fill(positions: start ..< start + imageCount, images: images, labels: labels)
        return imageCount
    }

    /// Writes the images at `positions` of the current epoch's order (normalised, augmented, NHWC) and their
    /// labels, as `fillBatch` does for a whole batch; batches that run across epochs are built from these.
    public func fill(positions: Range<Int>, images: UnsafeMutablePointer<Float>, labels: UnsafeMutablePointer<Int32>) {
        precondition(epoch > 0, "call startEpoch() before fillBatch")
        precondition(positions.lowerBound >= 0 && positions.upperBound <= split.count, "positions \(positions) outside the epoch")
        let start = positions.lowerBound, imageCount = positions.count
        split.images.withUnsafeBufferPointer { source in
            normalizationTable.withUnsafeBufferPointer { table in
                for position in 0 ..< imageCount {
                    let image = visits[start + position]
                    labels[position] = Int32(split.labels[image])
                    writeImage(
                        image, from: source.baseAddress! + image * Self.floatsPerImage,
                        to: images + position * Self.floatsPerImage, table: table.baseAddress!)
                }
            }
        }
    }

    /// Starts the next epoch and hands its batches to `body` in order.
    ///
    /// The buffers are reused between batches: copy out anything `body` needs to keep.
    public func forEachBatch(
        _ body: (_ images: UnsafeBufferPointer<Float>, _ labels: UnsafeBufferPointer<Int32>, _ count: Int) throws -> Void
    ) rethrows {
        startEpoch()
        var images = [Float](repeating: 0, count: batchSize * Self.floatsPerImage)
        var labels = [Int32](repeating: 0, count: batchSize)
        for index in 0 ..< batchCount {
            let count = images.withUnsafeMutableBufferPointer { imageBuffer in
                labels.withUnsafeMutableBufferPointer { labelBuffer in
                    fillBatch(index, images: imageBuffer.baseAddress!, labels: labelBuffer.baseAddress!)
                }
            }
            try images.withUnsafeBufferPointer { imageBuffer in
                try labels.withUnsafeBufferPointer { labelBuffer in
                    try body(
                        UnsafeBufferPointer(rebasing: imageBuffer[0 ..< count * Self.floatsPerImage]),
                        UnsafeBufferPointer(rebasing: labelBuffer[0 ..< count]), count)
                }
            }
        }
    }

    /// All images of `split`, normalised with `normalization`, NHWC, without augmentation (for evaluation).
    public static func normalizedImages(_ split: ImageSplit, normalization: Normalization = .cifar10) -> [Float] {
        [Float](unsafeUninitializedCapacity: split.images.count) { output, initializedCount in
            normalization.table.withUnsafeBufferPointer { table in
                split.images.withUnsafeBufferPointer { bytes in
                    let red = table.baseAddress!
                    let green = red + 256
                    let blue = red + 512
                    for offset in stride(from: 0, to: bytes.count, by: channels) {
                        output[offset] = red[Int(bytes[offset])]
                        output[offset + 1] = green[Int(bytes[offset + 1])]
                        output[offset + 2] = blue[Int(bytes[offset + 2])]
                    }
                }
            }
            initializedCount = split.images.count
        }
    }

    /// Copies one image through the epoch's translation, flips, jitter and cutout.
    ///
    /// Output pixel (y, x) of the paper's pipeline is the padded, first-epoch-flipped image at
    /// (r + dy + y, r + dx + x'), where x' = 31 − x when this epoch flips. Reflection padding maps
    /// padded coordinate r + k to image coordinate reflect(k), so the whole pipeline is two index maps.
    private func writeImage(
        _ image: Int, from pixels: UnsafePointer<UInt8>, to output: UnsafeMutablePointer<Float>,
        table: UnsafePointer<Float>
    ) {
        let side = Self.side
        let last = side - 1
        let dy = Int(shifts[2 * image])
        let dx = Int(shifts[2 * image + 1])
        let flipThisEpoch = epochFlips[image]
        let flippedAtStart = baseFlips[image]
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * side) { maps in
            let rows = maps.baseAddress!
            let columns = rows + side
            for k in 0 ..< side {
                rows[k] = reflectionPaddedIndex(dy + k, side: side) * side * Self.channels
                let column = reflectionPaddedIndex(dx + (flipThisEpoch ? last - k : k), side: side)
                columns[k] = (flippedAtStart ? last - column : column) * Self.channels
            }
            let green = table + 256
            let blue = table + 512
            var destination = output
            for y in 0 ..< side {
                let row = pixels + rows[y]
                for x in 0 ..< side {
                    let pixel = row + columns[x]
                    destination[0] = table[Int(pixel[0])]
                    destination[1] = green[Int(pixel[1])]
                    destination[2] = blue[Int(pixel[2])]
                    destination += 3
                }
            }
        }
        if !jitter.isEmpty {
            Augmentation.brightnessContrast(output, count: Self.floatsPerImage, shift: jitter[2 * image],
                                            scale: jitter[2 * image + 1])
        }
        let cutout = augmentation.cutout
        if cutout > 0 {
            let top = Int(cutoutCorners[2 * image])
            let left = Int(cutoutCorners[2 * image + 1])
            for y in top ..< top + cutout {
                (output + (y * side + left) * Self.channels).update(repeating: 0, count: cutout * Self.channels)
            }
        }
    }
}
