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
    /// The training split's own statistics, computed on load: a check on the data (see `statisticsAgree`).
    public var trainingSplitStatistics: Normalization

    /// Labels are 0 ..< `classCount`; the network's head has this many outputs.
    public var classCount: Int { selection.classCount }
    /// The per-channel statistics the loader normalises with: the data set's published ones (the paper's
    /// for CIFAR-10), whatever the split, so that every run on a data set normalises alike and matches the
    /// reference scripts bit for bit.
    public var normalization: Normalization { selection.name.publishedNormalization }
    /// Whether images may be mirrored left-right, in training and at test time (false for SVHN: digits).
    public var mirrorable: Bool { selection.name.mirrorable }

    /// A data set from its splits, normalised with its published statistics.
    public init(selection: DatasetSelection, train: ImageSplit, test: ImageSplit) {
        self.selection = selection
        self.train = train
        self.test = test
        trainingSplitStatistics = Normalization.computed(from: train)
    }

    /// Whether the training split's statistics are within `Normalization.publishedTolerance` of the published
    /// ones. Published values are the official training split's statistics to four decimals, so a true copy
    /// agrees; the JPEG-rebuilt CIFAR-10 of `../shared/data` is within 0.002. A different data set, a wrong
    /// file or an unrepresentative subset does not, and the command line says so.
    public var statisticsAgree: Bool { trainingSplitStatistics.distance(to: normalization) <= Normalization.publishedTolerance }

    /// CIFAR-10 from its two splits.
    public init(cifar10 data: CIFAR10) {
        self.init(selection: DatasetSelection(.cifar10), train: data.train, test: data.test)
    }

    /// One line for logs: the data set, its sizes (with the official ones where they differ: a subset or a cleaned
    /// copy reads as it is, and this is where the user sees it), and what would change the bits (normalisation,
    /// flips).
    public var summary: String {
        func format(_ n: Normalization) -> String {
            zip(n.mean, n.std).map { String(format: "%.4f/%.4f", $0, $1) }.joined(separator: " ")
        }
        func images(_ count: Int, _ split: String, official: Int) -> String {
            "\(grouped(count)) \(split) images" + (count == official ? "" : " (official: \(grouped(official)))")
        }
        let check = statisticsAgree ? "the training split agrees"
            : String(format: "WARNING: the training split's own (%@) differ by %.4f: not the official data?",
                     format(trainingSplitStatistics), trainingSplitStatistics.distance(to: normalization))
        let official = selection.officialCounts
        return "\(selection): \(images(train.count, "train", official: official.train)), "
            + "\(images(test.count, "test", official: official.test)), \(classCount) classes; "
            + "published normalisation mean/std \(format(normalization)) (\(check))" + (mirrorable ? "" : "; no mirroring")
    }
}

extension Normalization {
    /// How far (absolute, on the 0–1 scale) a training split's statistics may be from the published ones before
    /// `Dataset.statisticsAgree` is false.
    public static let publishedTolerance: Float = 0.005
}

/// A count with a comma between thousands ("50,000"), as the summary writes it.
private func grouped(_ count: Int) -> String {
    var digits = String(count)
    var groups = ""
    while digits.count > 3 {
        groups = "," + digits.suffix(3) + groups
        digits.removeLast(3)
    }
    return digits + groups
}
