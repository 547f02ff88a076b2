import Foundation

/// A data set the engine trains on: the images and labels of its training and test splits, its class count,
/// its normalisation statistics and its default augmentation (paper Table 5: flipping off for SVHN).
public struct Dataset: Sendable {
    /// Which data set, and which variant of it (labels, extra images).
    public var selection: DatasetSelection
    /// The images trained on.
    public var train: ImageSplit
    /// The images evaluated on.
    public var test: ImageSplit
    /// Labels are 0 ..< `classCount`; the network's head has this many outputs.
    public var classCount: Int
    /// The per-channel statistics the loader normalises with (see `Normalization.choose`).
    public var normalization: Normalization
    /// Whether `normalization` is the published one (`.published`) or the training split's own (`.computed`).
    public var normalizationSource: NormalizationSource
    /// Whether images may be mirrored left-right, in training and at test time (false for SVHN: digits).
    public var mirrorable: Bool

    /// Where `normalization` came from.
    public enum NormalizationSource: String, Sendable, Codable {
        /// The widely used published values, which agree with the training split's statistics to within
        /// `Normalization.publishedTolerance`; kept bit for bit so runs match reference scripts.
        case published
        /// The training split's own statistics (no published values, or the split differs from the
        /// official one by more than the tolerance, as synthetic or re-labelled copies do).
        case computed
    }

    /// A data set from its splits; the normalisation is chosen from the training split (see `Normalization.choose`).
    public init(selection: DatasetSelection, train: ImageSplit, test: ImageSplit) {
        self.selection = selection
        self.train = train
        self.test = test
        classCount = selection.classCount
        (normalization, normalizationSource) = Normalization.choose(
            computed: Normalization.computed(from: train), published: selection.name.publishedNormalization)
        mirrorable = selection.name.mirrorable
    }

    /// CIFAR-10 from its two splits.
    public init(cifar10 data: CIFAR10) {
        self.init(selection: DatasetSelection(.cifar10), train: data.train, test: data.test)
    }

    /// One line for logs: the data set, its sizes, and what would change the bits (normalisation, flips).
    public var summary: String {
        let statistics = zip(normalization.mean, normalization.std).map { String(format: "%.4f/%.4f", $0, $1) }
        return "\(selection): \(train.count) train, \(test.count) test images, \(classCount) classes; "
            + "normalisation \(normalizationSource.rawValue) (mean/std \(statistics.joined(separator: " ")))"
            + (mirrorable ? "" : "; no mirroring")
    }
}

extension Normalization {
    /// How far (absolute, on the 0–1 scale) computed statistics may be from published ones for the published
    /// ones to be used. Published values are the training split's statistics rounded to four decimals, so a
    /// true copy of the data set is within 0.0001; the JPEG-rebuilt CIFAR-10 of `../shared/data` is within
    /// 0.002. A different or mislabelled data set misses by far more.
    public static let publishedTolerance: Float = 0.005

    /// The published statistics when they exist and agree with `computed`, else `computed`.
    public static func choose(computed: Normalization, published: Normalization?)
        -> (Normalization, Dataset.NormalizationSource) {
        if let published, computed.distance(to: published) <= publishedTolerance { return (published, .published) }
        return (computed, .computed)
    }
}
