/// How training images are mirrored left-right.
public enum FlipMode: String, Sendable, CaseIterable, Codable {
    /// Never flip.
    case none
    /// Flip each image with probability ½, drawn afresh every epoch.
    case random
    /// The paper's alternating flip: a random half of the images is flipped once at the first epoch,
    /// then every odd epoch shows all images mirrored relative to that, so each image is seen in both
    /// orientations within any two consecutive epochs.
    case alternating
}

/// The data augmentation a `CifarLoader` applies to training images.
public struct Augmentation: Sendable, Equatable {
    /// Left-right mirroring.
    public var flip: FlipMode
    /// Maximum random translation in pixels (reflection padding, then a random 32×32 crop); 0 = none.
    public var translate: Int
    /// Side of the random square zeroed after normalisation (airbench96 uses 12); 0 = none.
    public var cutout: Int

    /// Creates an augmentation; the defaults are airbench94's (alternating flip, translate 2, no cutout).
    public init(flip: FlipMode = .alternating, translate: Int = 2, cutout: Int = 0) {
        self.flip = flip
        self.translate = translate
        self.cutout = cutout
    }

    /// No augmentation at all, as for evaluation.
    public static let none = Augmentation(flip: .none, translate: 0, cutout: 0)
}

/// PyTorch's 'reflect' padding as an index map: coordinate `coordinate` of an image padded by reflection maps to
/// this coordinate of the image itself, mirrored about the edge pixel without repeating it (…, 2, 1, 0, 1, 2, …).
/// Valid for coordinates within `side − 1` of the image: the training translation and the TTA views both use it.
@inline(__always)
public func reflectionPaddedIndex(_ coordinate: Int, side: Int) -> Int {
    coordinate < 0 ? -coordinate : (coordinate >= side ? 2 * (side - 1) - coordinate : coordinate)
}
