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
    /// hiverge's brightness/contrast jitter in normalised space: each image of each epoch becomes (x + b)·k with
    /// b ~ U(±brightness) and k ~ U(1 ± contrast), one pair for all its pixels and channels, after the
    /// translation and the flips (and before the cutout); no clamping. 0 and 0 = none.
    public var brightness: Double
    public var contrast: Double

    /// Creates an augmentation; the defaults are airbench94's (alternating flip, translate 2, no cutout, no
    /// jitter).
    public init(flip: FlipMode = .alternating, translate: Int = 2, cutout: Int = 0, brightness: Double = 0,
                contrast: Double = 0) {
        self.flip = flip
        self.translate = translate
        self.cutout = cutout
        self.brightness = brightness
        self.contrast = contrast
    }

    /// No augmentation at all, as for evaluation.
    public static let none = Augmentation(flip: .none, translate: 0, cutout: 0)

    /// Whether images are jittered (`brightness` or `contrast` non-zero).
    public var jitters: Bool { brightness != 0 || contrast != 0 }

    /// The jitter of one image: x ← (x + shift)·scale for each of its `count` values (hiverge: shift first, then
    /// scale, about 0, the data set's mean colour).
    public static func brightnessContrast(_ x: UnsafeMutablePointer<Float>, count: Int, shift: Float, scale: Float) {
        for i in 0 ..< count { x[i] = (x[i] + shift) * scale }
    }
}

/// PyTorch's 'reflect' padding as an index map: coordinate `coordinate` of an image padded by reflection maps to
/// this coordinate of the image itself, mirrored about the edge pixel without repeating it (…, 2, 1, 0, 1, 2, …).
/// Valid for coordinates within `side − 1` of the image: the training translation and the TTA views both use it.
@inline(__always)
public func reflectionPaddedIndex(_ coordinate: Int, side: Int) -> Int {
    coordinate < 0 ? -coordinate : (coordinate >= side ? 2 * (side - 1) - coordinate : coordinate)
}
