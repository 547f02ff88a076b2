import AirbenchData

/// The training batches of a run, by step: whole loader epochs with the last partial batch dropped (Listing 4's
/// `CifarLoader`, every method but one), or an endless stream cut into full batches across epoch boundaries
/// (airbench96_faster's `InfiniteCifarLoader`). Either way `stepsPerEpoch` is `count / batchSize` (rounded
/// down), and the flip's parity follows the loader's epochs. Steps must be asked for in order.
public final class BatchSource: BatchStream {
    let loader: CifarLoader
    let seed: UInt64
    let spansEpochs: Bool
    public var stepsPerEpoch: Int { loader.split.count / loader.batchSize }
    /// The next position of the current epoch to serve (stream mode).
    private var position = 0
    private var nextStep = 0

    public init(split: ImageSplit, normalization: Normalization, hyperparameters h: Hyperparameters, seed: UInt64) {
        loader = CifarLoader(split: split, batchSize: h.batchSize,
                             augmentation: Augmentation(flip: h.flip, translate: h.translate, cutout: h.cutout,
                                                        brightness: h.brightnessJitter, contrast: h.contrastJitter),
                             order: h.order, dropLast: true, seed: seed, normalization: normalization)
        self.seed = seed
        spansEpochs = h.batchesSpanEpochs
    }

    /// Writes step `step`'s batch (`batchSize` images and labels).
    public func fill(step: Int, images: UnsafeMutablePointer<Float>, labels: UnsafeMutablePointer<Int32>) {
        precondition(step == nextStep, "batches are served in order: asked for step \(step), next is \(nextStep)")
        nextStep += 1
        guard spansEpochs else {
            if step % stepsPerEpoch == 0 { loader.startEpoch() }
            loader.fillBatch(step % stepsPerEpoch, images: images, labels: labels)
            return
        }
        let count = loader.split.count, pixels = ImageSplit.bytesPerImage
        var filled = 0
        while filled < loader.batchSize {
            if loader.epoch == 0 || position == count {
                loader.startEpoch()
                position = 0
            }
            let take = min(loader.batchSize - filled, count - position)
            loader.fill(positions: position..<position + take, images: images + filled * pixels, labels: labels + filled)
            position += take
            filled += take
        }
    }
}

/// Where a training step's batch comes from: the loader's batches (`BatchSource`), or the examples a proxy kept
/// of them (`FilteredBatches`).
public protocol BatchStream {
    /// Writes step `step`'s batch (images normalised, NHWC; labels). Steps are asked for in order.
    func fill(step: Int, images: UnsafeMutablePointer<Float>, labels: UnsafeMutablePointer<Int32>)
}
