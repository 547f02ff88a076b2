import Foundation

/// The data sets of the paper's Table 5.
public enum DatasetName: String, Sendable, Codable, CaseIterable {
    case cifar10, cifar100, svhn, cinic10

    /// The name people write.
    public var displayName: String {
        switch self {
        case .cifar10: return "CIFAR-10"
        case .cifar100: return "CIFAR-100"
        case .svhn: return "SVHN"
        case .cinic10: return "CINIC-10"
        }
    }

    /// Statistics of the official training split as widely published (the paper's for CIFAR-10; CINIC-10's
    /// from its authors' README; CIFAR-100 and SVHN as used across PyTorch recipes).
    public var publishedNormalization: Normalization {
        switch self {
        case .cifar10: return .cifar10
        case .cifar100: return Normalization(mean: [0.5071, 0.4865, 0.4409], std: [0.2673, 0.2564, 0.2762])
        case .svhn: return Normalization(mean: [0.4377, 0.4438, 0.4728], std: [0.1980, 0.2010, 0.1970])
        case .cinic10:
            return Normalization(mean: [0.47889522, 0.47227842, 0.43047404], std: [0.24205776, 0.23828046, 0.25874835])
        }
    }

    /// Whether a mirrored image is still an image of its class: not for SVHN's digits (paper Table 5 turns
    /// flipping off for SVHN; we also leave the mirrored views out of its test-time augmentation).
    public var mirrorable: Bool { self != .svhn }
}

/// Labels of CIFAR-100: the 100 classes, or the 20 superclasses.
public enum CIFAR100Labels: String, Sendable, Codable, CaseIterable {
    case fine, coarse
}

/// Which data set to train or evaluate on, and which variant of it.
public struct DatasetSelection: Sendable, Codable, Equatable, CustomStringConvertible {
    /// The data set.
    public var name: DatasetName
    /// CIFAR-100 only: fine (100 classes, the default) or coarse (20 superclasses) labels.
    public var labels: CIFAR100Labels
    /// SVHN only: add the 531,131 images of `extra_32x32.mat` to the training split.
    public var svhnExtra: Bool
    /// CINIC-10 only: train on `train/` and `valid/` together (180,000 images), as is common.
    public var cinicValid: Bool

    public init(_ name: DatasetName, labels: CIFAR100Labels = .fine, svhnExtra: Bool = false, cinicValid: Bool = false) {
        self.name = name
        self.labels = labels
        self.svhnExtra = svhnExtra
        self.cinicValid = cinicValid
    }

    /// The number of classes the labels run over.
    public var classCount: Int {
        name == .cifar100 ? (labels == .fine ? CIFAR100.fineClassCount : CIFAR100.coarseClassCount) : 10
    }

    /// Training and test images of the official files (what a run on them costs; a copy of another size reads too,
    /// and `Dataset.summary` compares its counts with these).
    public var officialCounts: (train: Int, test: Int) {
        switch name {
        case .cifar10: return (CIFAR10.trainFileNames.count * CIFAR10.recordsPerFile, CIFAR10.recordsPerFile)
        case .cifar100: return (CIFAR100.trainRecords, CIFAR100.testRecords)
        case .svhn: return (SVHN.trainFile.images + (svhnExtra ? SVHN.extraFile.images : 0), SVHN.testFile.images)
        case .cinic10:
            let split = CINIC10.imagesPerClass * CINIC10.classNames.count
            return (cinicValid ? 2 * split : split, split)
        }
    }

    /// A variant asked for on a data set that has no such variant is a mistake, not something to ignore.
    public func validate() throws {
        if labels != .fine && name != .cifar100 {
            throw DataError.invalidSelection("coarse labels exist only for cifar100, not \(name.rawValue)")
        }
        if svhnExtra && name != .svhn {
            throw DataError.invalidSelection("the extra split exists only for svhn, not \(name.rawValue)")
        }
        if cinicValid && name != .cinic10 {
            throw DataError.invalidSelection("the valid split exists only for cinic10, not \(name.rawValue)")
        }
    }

    /// E.g. `cifar100 (coarse labels)`, `svhn (train+extra)`.
    public var description: String {
        var variants: [String] = []
        if name == .cifar100 { variants.append("\(labels.rawValue) labels") }
        if svhnExtra { variants.append("train+extra") }
        if cinicValid { variants.append("train+valid") }
        return name.rawValue + (variants.isEmpty ? "" : " (\(variants.joined(separator: ", ")))")
    }

    // Absent keys decode to the defaults, so result files and specs need only name what differs.
    private enum CodingKeys: String, CodingKey { case name, labels, svhnExtra = "svhn_extra", cinicValid = "cinic_valid" }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(try container.decode(DatasetName.self, forKey: .name),
                  labels: try container.decodeIfPresent(CIFAR100Labels.self, forKey: .labels) ?? .fine,
                  svhnExtra: try container.decodeIfPresent(Bool.self, forKey: .svhnExtra) ?? false,
                  cinicValid: try container.decodeIfPresent(Bool.self, forKey: .cinicValid) ?? false)
    }
}
